using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Infrastructure;

/// <summary>Lets commands receive the console they must write to (the real one, or a captured one in tests).</summary>
internal sealed class ConsoleRegistrar(IAnsiConsole console) : ITypeRegistrar, ITypeResolver
{
    private readonly Dictionary<Type, Func<object>> _factories = new() { [typeof(IAnsiConsole)] = () => console };

    public void Register(Type service, Type implementation) => _factories[service] = () => Create(implementation);

    public void RegisterInstance(Type service, object implementation) => _factories[service] = () => implementation;

    public void RegisterLazy(Type service, Func<object> factory) => _factories[service] = factory;

    public ITypeResolver Build() => this;

    public object? Resolve(Type? type)
    {
        if (type is null)
        {
            return null;
        }

        return _factories.TryGetValue(type, out var factory) ? factory() : Create(type);
    }

    private object Create(Type type)
    {
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var arguments = constructor.GetParameters().Select(p => Resolve(p.ParameterType)).ToArray();
        return constructor.Invoke(arguments);
    }
}
