global using Lore.Testing;
global using Xunit;
