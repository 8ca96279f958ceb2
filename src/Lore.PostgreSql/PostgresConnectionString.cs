using System.Globalization;
using System.Text;
using Npgsql;

namespace Lore.PostgreSql;

/// <summary>
/// Reads what users write to name a PostgreSQL database: a URI as libpq and most tools print it
/// (<c>postgres://user:password@host:5432/db?sslmode=require</c>, several hosts separated by commas) or an Npgsql
/// connection string (<c>Host=...;Database=...</c>), and describes it without the password.
/// </summary>
public static class PostgresConnectionString
{
    /// <summary>Whether <paramref name="value"/> names a PostgreSQL database rather than a file path.</summary>
    public static bool IsPostgres(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var trimmed = value.Trim();
        return trimmed.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || trimmed.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || (trimmed.Contains('=', StringComparison.Ordinal) && trimmed.Contains("host", StringComparison.OrdinalIgnoreCase)
                && (trimmed.Contains(';', StringComparison.Ordinal) || trimmed.StartsWith("host", StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>Parses a URI or an Npgsql connection string; throws <see cref="FormatException"/> naming what is wrong (never the password).</summary>
    public static NpgsqlConnectionStringBuilder Parse(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        var trimmed = value.Trim();
        var schemeEnd = trimmed.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(trimmed);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"Not a valid PostgreSQL connection string: {e.Message}", e);
            }
        }

        var scheme = trimmed[..schemeEnd];
        if (!scheme.Equals("postgres", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("postgresql", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"A PostgreSQL URI starts with postgres:// or postgresql://, not {scheme}://.");
        }

        return ParseUri(trimmed[(schemeEnd + 3)..]);
    }

    /// <summary>The database as a URI without the password (for <see cref="ILoreStore.Location"/>, logs and messages).</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var text = new StringBuilder("postgres://");
        if (!string.IsNullOrEmpty(builder.Username))
        {
            text.Append(Uri.EscapeDataString(builder.Username)).Append('@');
        }

        var hosts = string.IsNullOrEmpty(builder.Host) ? "localhost" : builder.Host;
        text.Append(hosts);
        if (!hosts.Contains(',', StringComparison.Ordinal) && builder.Port != NpgsqlConnection.DefaultPort)
        {
            text.Append(':').Append(builder.Port.ToString(CultureInfo.InvariantCulture));
        }

        text.Append('/').Append(Uri.EscapeDataString(builder.Database ?? builder.Username ?? ""));
        return text.ToString();
    }

    private static NpgsqlConnectionStringBuilder ParseUri(string rest)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        var query = "";
        var queryStart = rest.IndexOf('?', StringComparison.Ordinal);
        if (queryStart >= 0)
        {
            query = rest[(queryStart + 1)..];
            rest = rest[..queryStart];
        }

        var path = "";
        var pathStart = rest.IndexOf('/', StringComparison.Ordinal);
        if (pathStart >= 0)
        {
            path = rest[(pathStart + 1)..];
            rest = rest[..pathStart];
        }

        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon >= 0 ? userInfo[..colon] : userInfo);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
        }

        if (rest.Length > 0)
        {
            var hosts = rest.Split(',').Select(host => SplitHostPort(Uri.UnescapeDataString(host))).ToList();
            if (hosts.Count == 1)
            {
                builder.Host = hosts[0].Host;
                if (hosts[0].Port is { } port)
                {
                    builder.Port = port;
                }
            }
            else
            {
                // Several hosts (failover): Npgsql takes them as one list, each with its own port.
                builder.Host = string.Join(',', hosts.Select(h => h.Port is { } port ? $"{h.Host}:{port.ToString(CultureInfo.InvariantCulture)}" : h.Host));
            }
        }

        if (path.Length > 0)
        {
            builder.Database = Uri.UnescapeDataString(path);
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals >= 0 ? pair[..equals] : pair);
            var parameterValue = Uri.UnescapeDataString(equals >= 0 ? pair[(equals + 1)..] : "");
            Apply(builder, key, parameterValue);
        }

        return builder;
    }

    private static (string Host, int? Port) SplitHostPort(string host)
    {
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"The host '{host}' opens an IPv6 address with '[' but never closes it.");
            }

            var address = host[1..close];
            var after = host[(close + 1)..];
            return after.StartsWith(':') ? (address, ParsePort(after[1..])) : (address, null);
        }

        var colon = host.LastIndexOf(':');
        return colon >= 0 ? (host[..colon], ParsePort(host[(colon + 1)..])) : (host, null);
    }

    private static int ParsePort(string text)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"'{text}' is not a TCP port (1 to 65535).");

    /// <summary>libpq's URI parameters in Npgsql's terms; any other key must be an Npgsql keyword.</summary>
    private static void Apply(NpgsqlConnectionStringBuilder builder, string key, string value)
    {
        switch (key.ToLowerInvariant())
        {
            case "sslmode":
                builder.SslMode = value.ToLowerInvariant() switch
                {
                    "disable" => SslMode.Disable,
                    "allow" => SslMode.Allow,
                    "prefer" => SslMode.Prefer,
                    "require" => SslMode.Require,
                    "verify-ca" => SslMode.VerifyCA,
                    "verify-full" => SslMode.VerifyFull,
                    _ => throw new FormatException($"sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, verify-full."),
                };
                return;
            case "application_name":
                builder.ApplicationName = value;
                return;
            case "connect_timeout":
                builder.Timeout = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    ? seconds
                    : throw new FormatException($"connect_timeout '{value}' is not a whole number of seconds.");
                return;
            case "target_session_attrs":
                builder.TargetSessionAttributes = value;
                return;
            case "sslrootcert":
                builder.RootCertificate = value;
                return;
            case "sslcert":
                builder.SslCertificate = value;
                return;
            case "sslkey":
                builder.SslKey = value;
                return;
            case "sslpassword":
                builder.SslPassword = value;
                return;
            case "user":
                builder.Username = value;
                return;
            case "password":
                builder.Password = value;
                return;
            case "dbname":
                builder.Database = value;
                return;
            case "host":
                builder.Host = value;
                return;
            case "port":
                builder.Port = ParsePort(value);
                return;
        }

        try
        {
            builder[key] = value;
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"The URI parameter '{key}' is neither a libpq parameter Lore knows nor an Npgsql connection-string keyword ({e.Message}).", e);
        }
    }
}
