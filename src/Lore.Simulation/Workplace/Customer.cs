namespace Lore.Simulation;

/// <summary>A customer of the simulated workplace; the customer id is the episode's unit key.</summary>
public sealed record Customer(string Id, string Name, string Email, string Address, string Tier);
