using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Infrastructure;

/// <summary>Lets commands receive the console they must write to (the real one, or a captured one in tests).</summary>
internal sealed class ConsoleRegistrar : ITypeRegistrar
{
    private readonly ServiceCollection _services = new();

    public ConsoleRegistrar(IAnsiConsole console) => _services.AddSingleton(console);

    public void Register(Type service, Type implementation) => _services.AddSingleton(service, implementation);

    public void RegisterInstance(Type service, object implementation) => _services.AddSingleton(service, implementation);

    public void RegisterLazy(Type service, Func<object> factory) => _services.AddSingleton(service, _ => factory());

    public ITypeResolver Build() => new Resolver(_services.BuildServiceProvider());

    private sealed class Resolver(ServiceProvider provider) : ITypeResolver, IDisposable
    {
        public object? Resolve(Type? type) => type is null ? null : provider.GetService(type) ?? ActivatorUtilities.CreateInstance(provider, type);

        public void Dispose() => provider.Dispose();
    }
}
