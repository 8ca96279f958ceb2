using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>
/// <c>AddLore(...).UsePostgreSql()</c>: the store is opened on the application's data source (or a connection string)
/// by the hosted service that opens the runtime, so a missing or unreachable database fails the host's start.
/// </summary>
public sealed class DependencyInjectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_host_opens_Lore_on_PostgreSQL_at_start_and_captures_into_it(bool dataSourceFromContainer)
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            var builder = Host.CreateApplicationBuilder();
            if (dataSourceFromContainer)
            {
                builder.Services.AddNpgsqlDataSource(database);
                builder.Services.AddLore(o => o.Tenant = "acme").UsePostgreSql();
            }
            else
            {
                builder.Services.AddLore(o => o.Tenant = "acme").UsePostgreSql(database);
            }

            string episodeId;
            using (var host = builder.Build())
            {
                await host.StartAsync(Ct);
                var runtime = host.Services.GetRequiredService<LoreRuntime>();
                Assert.IsType<PostgresLoreStore>(runtime.Store);
                await using (var episode = runtime.BeginEpisode("refund order 1142", unitKey: "user-7"))
                {
                    episodeId = episode.Id;
                    await episode.CompleteAsync(Outcome.Success(), Ct);
                }

                await host.StopAsync(Ct);
                if (dataSourceFromContainer)
                {
                    // The data source is the application's: still open after Lore's runtime and store have closed.
                    await using var command = host.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand("SELECT 1");
                    Assert.Equal(1, await command.ExecuteScalarAsync(Ct));
                }
            }

            await using var check = await PostgresLoreStore.OpenAsync(database, Ct);
            var stored = await check.GetEpisodeAsync("acme", episodeId, Ct);
            Assert.NotNull(stored);
            Assert.Equal("user-7", stored.UnitKey);
            Assert.True(stored.Succeeded);
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task UsePostgreSql_without_a_data_source_in_the_container_fails_the_start_saying_what_to_register()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLore(o => o.Tenant = "acme").UsePostgreSql();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(Ct));

        Assert.Contains("none is registered", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddNpgsqlDataSource", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsePostgreSql_on_an_unreachable_database_fails_the_start_naming_the_database_and_not_the_password()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLore(o => o.Tenant = "acme").UsePostgreSql("Host=127.0.0.1;Port=1;Database=nowhere;Username=lore;Password=s3cret-pw;Timeout=5");
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<IOException>(() => host.StartAsync(Ct));

        Assert.Contains("nowhere", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsePostgreSql_refuses_a_malformed_connection_string_and_options_without_a_schema_when_registered()
    {
        var services = new ServiceCollection();

        Assert.Throws<FormatException>(() => services.UsePostgreSql("postgres://lore@host:notaport/db"));
        var noSchema = Assert.Throws<ArgumentException>(() => services.UsePostgreSql(new PostgresStoreOptions { Schema = " " }));
        Assert.Contains("PostgresStoreOptions.Schema", noSchema.Message, StringComparison.Ordinal);
    }
}
