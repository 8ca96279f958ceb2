using System.Globalization;

namespace Lore.Simulation;

/// <summary>
/// A seeded customer-operations desk: a directory of customers and an endless, reproducible stream of tickets in
/// four slices. The same seed always yields the same customers and the same ticket at each position, so runs,
/// tests and benchmarks can be compared.
/// </summary>
public sealed class Workplace
{
    private static readonly string[] FirstNames =
    [
        "Ana", "Bruno", "Chen", "Dara", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kemal", "Lena", "Mateo",
        "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Samir", "Tomoko", "Uma", "Viktor", "Wanda", "Yusuf", "Zofia",
    ];

    private static readonly string[] LastNames =
    [
        "Silva", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Kowalski", "Brennan", "Ferreira",
        "Schmidt", "Duarte", "Nakamura", "Petrov", "Osei", "Larsen", "Rossi", "Vega", "Ahmed", "Keller",
    ];

    private static readonly string[] Streets =
    [
        "Elm Street", "Harbour Road", "Linden Avenue", "Mill Lane", "Oak Terrace", "Quay Street", "Station Road",
        "Beacon Hill", "Cedar Close", "Market Square", "Orchard Way", "River Walk",
    ];

    private static readonly string[] Cities =
    [
        "Springfield", "Rivertown", "Lakeside", "Northgate", "Easton", "Westmere", "Hillcrest", "Bayview",
    ];

    private static readonly string[] Airports = ["BOS", "SFO", "JFK", "LAX", "ORD", "SEA", "ATL", "DEN", "MIA", "AUS"];

    private static readonly string[] Carriers = ["LX", "UA", "DL", "BA", "AF", "KL", "AA", "AS"];

    private static readonly string[] Tiers = ["standard", "silver", "gold"];

    private static readonly string[] RefundReasons =
    [
        "the parcel arrived damaged", "they changed their mind", "the wrong size was delivered",
        "it was charged twice", "the item never arrived",
    ];

    private static readonly string[] Services = ["consulting", "a support plan", "cloud hosting", "training", "hardware repairs"];

    private static readonly decimal[] TaxRates = [0.05m, 0.07m, 0.08m, 0.0825m, 0.1m];

    private readonly Customer[] _customers;
    private readonly Dictionary<string, Customer> _byId;

    /// <summary>Creates the workplace of <paramref name="seed"/> with <paramref name="customers"/> customers.</summary>
    public Workplace(int seed, int customers = 120)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(customers, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(customers, 9999);
        Seed = seed;
        var random = new Random(StableHash.Mix(seed, 0, 0x0C05));
        _customers = new Customer[customers];
        for (var i = 0; i < customers; i++)
        {
            var first = FirstNames[random.Next(FirstNames.Length)];
            var last = LastNames[random.Next(LastNames.Length)];
            var id = string.Create(CultureInfo.InvariantCulture, $"C-{i + 1:D4}");
            _customers[i] = new Customer(
                id,
                $"{first} {last}",
                $"{first.ToLowerInvariant()}.{last.ToLowerInvariant()}{i + 1}@example.com",
                RandomAddress(random),
                Tiers[random.Next(Tiers.Length)]);
        }

        _byId = _customers.ToDictionary(c => c.Id, StringComparer.Ordinal);
    }

    /// <summary>The seed the customers and tickets were drawn from; the same seed gives the same workplace.</summary>
    public int Seed { get; }

    /// <summary>The workplace's customers, each one unit (evidence source) for Lore.</summary>
    public IReadOnlyList<Customer> Customers => _customers;

    /// <summary>The customer with this id, or null.</summary>
    public Customer? FindCustomer(string customerId) => _byId.GetValueOrDefault(customerId);

    /// <summary>The ticket at position <paramref name="index"/> (0-based); the same index always gives the same ticket.</summary>
    public WorkplaceTask CreateTask(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var random = new Random(StableHash.Mix(Seed, index, 0x7A5C));
        var slice = WorkplaceSlices.All[random.Next(WorkplaceSlices.All.Count)];
        var customer = _customers[random.Next(_customers.Length)];
        var ticket = string.Create(CultureInfo.InvariantCulture, $"T-{10000 + index}");
        var (text, facts) = slice switch
        {
            WorkplaceSlices.Refunds => RefundTask(random, ticket, customer),
            WorkplaceSlices.Payments => PaymentTask(random, ticket, customer),
            WorkplaceSlices.Bookings => BookingTask(random, ticket, customer),
            _ => AddressTask(random, ticket, customer),
        };
        return new WorkplaceTask(facts) { Id = ticket, Slice = slice, Text = text, CustomerId = customer.Id };
    }

    /// <summary>A fresh environment for one episode of <paramref name="task"/> under <paramref name="rules"/>.</summary>
    public WorkplaceEnvironment CreateEnvironment(WorkplaceTask task, WorkplaceRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new WorkplaceEnvironment(this, task, rules ?? WorkplaceRules.Default);
    }

    private static (string, TaskFacts) RefundTask(Random random, string ticket, Customer customer)
    {
        var order = random.Next(1000, 99999).ToString(CultureInfo.InvariantCulture);
        var facts = new RefundFacts(order, random.Next(1, 5), Money(random, 1500, 40000));
        var reason = RefundReasons[random.Next(RefundReasons.Length)];
        var text = random.Next(3) switch
        {
            0 => $"Ticket {ticket}: {customer.Name} ({customer.Id}) asks for a refund of order {order}; {reason}.",
            1 => $"Ticket {ticket}: please refund order {order} for customer {customer.Id} ({customer.Name}) because {reason}.",
            _ => $"Ticket {ticket}: order {order} needs a full refund for {customer.Name} ({customer.Id}); {reason}.",
        };
        return (text, facts);
    }

    private static (string, TaskFacts) PaymentTask(Random random, string ticket, Customer customer)
    {
        var invoice = string.Create(CultureInfo.InvariantCulture, $"INV-{random.Next(10000, 99999)}");
        var subtotal = Money(random, 5000, 250000);
        var tax = decimal.Round(subtotal * TaxRates[random.Next(TaxRates.Length)], 2, MidpointRounding.AwayFromZero);
        var stated = F(subtotal);
        var service = Services[random.Next(Services.Length)];
        var text = random.Next(3) switch
        {
            0 => $"Ticket {ticket}: {customer.Name} ({customer.Id}) wants to settle invoice {invoice}; the quote was ${stated} for {service}.",
            1 => $"Ticket {ticket}: pay invoice {invoice} for customer {customer.Id} ({customer.Name}); the agreed price is ${stated}.",
            _ => $"Ticket {ticket}: {customer.Name} ({customer.Id}) asks us to pay off invoice {invoice} (${stated} for {service}).",
        };
        return (text, new PaymentFacts(invoice, subtotal, tax));
    }

    private static (string, TaskFacts) BookingTask(Random random, string ticket, Customer customer)
    {
        var origin = Airports[random.Next(Airports.Length)];
        var destination = Airports[(Array.IndexOf(Airports, origin) + 1 + random.Next(Airports.Length - 1)) % Airports.Length];
        var date = new DateOnly(2026, 1, 1).AddDays(random.Next(365)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var count = random.Next(3, 6);
        var fares = new HashSet<decimal>();
        var flights = new List<Flight>(count);
        while (flights.Count < count)
        {
            var fare = Money(random, 9000, 90000);
            if (!fares.Add(fare))
            {
                continue;
            }

            var number = string.Create(CultureInfo.InvariantCulture, $"{Carriers[random.Next(Carriers.Length)]}{random.Next(100, 9999)}");
            if (flights.Any(f => f.Number == number))
            {
                continue;
            }

            var departure = string.Create(CultureInfo.InvariantCulture, $"{random.Next(5, 23):D2}:{random.Next(12) * 5:D2}");
            flights.Add(new Flight(number, departure, fare));
        }

        flights.Sort((a, b) => string.CompareOrdinal(a.Departure, b.Departure));
        var text = random.Next(3) switch
        {
            0 => $"Ticket {ticket}: book {customer.Name} ({customer.Id}) on the cheapest flight from {origin} to {destination} on {date}.",
            1 => $"Ticket {ticket}: customer {customer.Id} ({customer.Name}) needs the lowest-fare flight {origin} to {destination} on {date}; please book it.",
            _ => $"Ticket {ticket}: {customer.Name} ({customer.Id}) is flying {origin} to {destination} on {date}; book the cheapest flight.",
        };
        return (text, new BookingFacts(origin, destination, date, flights));
    }

    private static (string, TaskFacts) AddressTask(Random random, string ticket, Customer customer)
    {
        string address;
        do
        {
            address = RandomAddress(random);
        }
        while (address == customer.Address);

        var text = random.Next(3) switch
        {
            0 => $"Ticket {ticket}: {customer.Name} ({customer.Id}) has moved; change their address to \"{address}\".",
            1 => $"Ticket {ticket}: update the mailing address of customer {customer.Id} ({customer.Name}) to \"{address}\".",
            _ => $"Ticket {ticket}: please set the address on file for {customer.Name} ({customer.Id}) to \"{address}\".",
        };
        return (text, new AddressFacts(address));
    }

    private static string RandomAddress(Random random)
        => string.Create(CultureInfo.InvariantCulture, $"{random.Next(1, 200)} {Streets[random.Next(Streets.Length)]}, {Cities[random.Next(Cities.Length)]}");

    private static decimal Money(Random random, int minCents, int maxCents) => random.Next(minCents, maxCents) / 100m;

    internal static string F(decimal amount) => amount.ToString("0.00", CultureInfo.InvariantCulture);
}
