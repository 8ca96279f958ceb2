using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Lore.PostgreSql;

/// <summary>
/// Makes PostgreSQL the store <c>AddLore(...)</c> opens when the host starts: on the application's own
/// <see cref="NpgsqlDataSource"/> from the container (as <c>AddNpgsqlDataSource</c> registers it), or on a
/// connection string. The store is opened asynchronously by the hosted service that opens the runtime, never on resolve.
/// </summary>
public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// Lore's store is the <see cref="NpgsqlDataSource"/> registered in the container (for example by
    /// <c>AddNpgsqlDataSource</c> from Npgsql.DependencyInjection), opened with
    /// <see cref="PostgresLoreStore.OpenAsync(NpgsqlDataSource, PostgresStoreOptions?, CancellationToken)"/> when the host
    /// starts: the schema is created or migrated then, and a data source that is missing, unreachable or unfit fails
    /// the start with its reason. The data source stays the application's (the store leaves it open). Without
    /// <paramref name="options"/>, the store's clock is the container's <see cref="TimeProvider"/>. A store set in
    /// <c>LoreOptions.Store</c> or registered as <c>ILoreStore</c> wins over this one.
    /// </summary>
    /// <exception cref="ArgumentException">The options name no schema or no clock.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The second parameter's type (options or a connection string) keeps overload resolution unambiguous, as on PostgresLoreStore.OpenAsync.")]
    public static IServiceCollection UsePostgreSql(this IServiceCollection services, PostgresStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        Check(options);
        services.AddSingleton<ILoreStoreOpener>(provider => new PostgresStoreOpener(provider, options, connectionString: null));
        return services;
    }

    /// <summary>
    /// Lore's store is the database <paramref name="connectionString"/> names (a <c>postgres://</c> URI or an Npgsql
    /// connection string), opened with <see cref="PostgresLoreStore.OpenAsync(string, PostgresStoreOptions, CancellationToken)"/>
    /// when the host starts; the store owns its pool. See <see cref="UsePostgreSql(IServiceCollection, PostgresStoreOptions?)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The connection string is empty, or the options name no schema or no clock.</exception>
    /// <exception cref="FormatException">The connection string or URI is malformed (checked here, not at start).</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The second parameter's type (options or a connection string) keeps overload resolution unambiguous, as on PostgresLoreStore.OpenAsync.")]
    public static IServiceCollection UsePostgreSql(this IServiceCollection services, string connectionString, PostgresStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Check(options);
        _ = PostgresConnectionString.Parse(connectionString);
        services.AddSingleton<ILoreStoreOpener>(provider => new PostgresStoreOpener(provider, options, connectionString));
        return services;
    }

    private static void Check(PostgresStoreOptions? options)
    {
        if (options is null)
        {
            return;
        }

        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Schema))
        {
            errors.Add("PostgresStoreOptions.Schema must name a schema.");
        }

        if (options.Clock is null)
        {
            errors.Add("PostgresStoreOptions.Clock must not be null.");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
    }

    /// <summary>Opens the PostgreSQL store when <c>AddLore</c>'s hosted service starts.</summary>
    private sealed class PostgresStoreOpener(IServiceProvider provider, PostgresStoreOptions? options, string? connectionString) : ILoreStoreOpener
    {
        public async Task<ILoreStore> OpenAsync(CancellationToken cancellationToken)
        {
            var storeOptions = options ?? new PostgresStoreOptions { Clock = provider.GetService<TimeProvider>() ?? TimeProvider.System };
            if (connectionString is not null)
            {
                return await PostgresLoreStore.OpenAsync(connectionString, storeOptions, cancellationToken).ConfigureAwait(false);
            }

            var dataSource = provider.GetService<NpgsqlDataSource>()
                ?? throw new InvalidOperationException(
                    "UsePostgreSql() opens Lore's store on the NpgsqlDataSource registered in the container, and none is registered: "
                    + "add one (builder.Services.AddNpgsqlDataSource(connectionString) from Npgsql.DependencyInjection, or services.AddSingleton(NpgsqlDataSource.Create(connectionString))), "
                    + "or pass the connection string: UsePostgreSql(connectionString).");
            return await PostgresLoreStore.OpenAsync(dataSource, storeOptions, cancellationToken).ConfigureAwait(false);
        }
    }
}
