using CsCheck;
using Lore.Simulation;

namespace Lore.Simulation.Tests;

/// <summary>
/// Property tests of the hidden rules: any sequence of tool calls, under any combination of rule switches, is
/// accepted or refused exactly as an independent model of the rules says, and the environment's verdict agrees
/// with that model's view of the final state.
/// </summary>
public sealed class WorkplaceRuleProperties
{
    private static readonly Gen<WorkplaceRules> Rules =
        Gen.Select(Gen.Bool, Gen.Bool, Gen.Bool, Gen.Bool, (refund, payment, booking, address) => new WorkplaceRules
        {
            RefundRequiresLookup = refund,
            PaymentMustEqualInvoiceTotal = payment,
            BookingRequiresHold = booking,
            AddressChangeRequiresVerification = address,
        });

    private static readonly Gen<(int Seed, int Index, WorkplaceRules Rules, int[] Picks)> Scenarios =
        Gen.Select(Gen.Int[0, 50], Gen.Int[0, 2000], Rules, Gen.Int[0, 1_000_000].Array[0, 14]);

    [Fact]
    public async Task Every_call_is_accepted_or_refused_as_the_rules_say_and_the_verdict_matches_the_final_state()
    {
        await Scenarios.SampleAsync(
            async scenario =>
            {
                var workplace = new Workplace(scenario.Seed, customers: 40);
                var task = workplace.CreateTask(scenario.Index);
                var environment = workplace.CreateEnvironment(task, scenario.Rules);
                var model = new RuleModel(workplace, task, scenario.Rules);
                var candidates = Candidates(workplace, task);

                foreach (var pick in scenario.Picks)
                {
                    var (tool, arguments) = candidates[pick % candidates.Count];
                    var expectedAccepted = model.Apply(tool, arguments);
                    var result = await WorkplaceTests.Call(environment, tool, arguments);
                    Assert.True(
                        expectedAccepted == !Step.LooksLikeToolError(result),
                        $"{tool}({string.Join(", ", arguments.Select(a => a.Value))}) under {scenario.Rules}: expected {(expectedAccepted ? "accepted" : "refused")}, got '{result}'");
                }

                Assert.Equal(model.Succeeded, environment.Judge().Success);
                Assert.Equal(scenario.Picks.Length, environment.Calls.Count);
            },
            iter: 400,
            threads: 1);
    }

    [Fact]
    public async Task A_careful_agent_succeeds_under_any_rules_and_a_hasty_one_fails_exactly_when_the_rule_is_on()
    {
        await Gen.Select(Gen.Int[0, 50], Gen.Int[0, 2000], Rules).SampleAsync(
            async scenario =>
            {
                var (seed, index, rules) = scenario;
                var workplace = new Workplace(seed, customers: 40);
                var task = workplace.CreateTask(index);

                var (careful, _) = await AgentHarness.RunAsync(workplace, task, SimulatedAgentProfile.Careful, seed, rules: rules);
                Assert.True(careful.Judge().Success, $"careful agent failed {task.Text}: {careful.Judge().Reason}");

                var (hasty, _) = await AgentHarness.RunAsync(workplace, task, WorkplaceTests.ShortcutAgent, seed, rules: rules);
                var ruleOn = task.Slice switch
                {
                    WorkplaceSlices.Refunds => rules.RefundRequiresLookup,
                    WorkplaceSlices.Payments => rules.PaymentMustEqualInvoiceTotal,
                    WorkplaceSlices.Bookings => rules.BookingRequiresHold,
                    _ => rules.AddressChangeRequiresVerification,
                };
                Assert.Equal(!ruleOn, hasty.Judge().Success);
            },
            iter: 200,
            threads: 1);
    }

    /// <summary>Calls worth trying on a task: the right ids and wrong ones, the right amounts and wrong ones.</summary>
    private static List<(string Tool, (string Name, object? Value)[] Arguments)> Candidates(Workplace workplace, WorkplaceTask task)
    {
        var customer = task.CustomerId;
        var other = workplace.Customers.First(c => c.Id != customer).Id;
        var list = new List<(string, (string, object?)[])>
        {
            ("get_customer", [("customerId", customer)]),
            ("get_customer", [("customerId", "C-9999")]),
            ("lookup_order", [("orderId", "1")]),
            ("refund_order", [("orderId", "1")]),
            ("get_invoice", [("invoiceId", "INV-0")]),
            ("pay_invoice", [("invoiceId", "INV-0"), ("amount", 10m)]),
            ("search_flights", [("origin", "BOS"), ("destination", "XXX"), ("date", "2026-01-01")]),
            ("hold_seat", [("flightNumber", "ZZ1"), ("customerId", customer)]),
            ("book_flight", [("flightNumber", "ZZ1"), ("customerId", customer)]),
            ("verify_identity", [("customerId", customer)]),
            ("verify_identity", [("customerId", other)]),
            ("verify_identity", [("customerId", "C-9999")]),
            ("update_address", [("customerId", customer), ("address", "1 Test Road, Nowhere")]),
            ("update_address", [("customerId", "C-9999"), ("address", "1 Test Road, Nowhere")]),
            ("update_address", [("customerId", customer), ("address", "  ")]),
        };
        switch (task.Facts)
        {
            case RefundFacts refund:
                list.Add(("lookup_order", [("orderId", refund.OrderId)]));
                list.Add(("refund_order", [("orderId", refund.OrderId)]));
                list.Add(("refund_order", [("orderId", refund.OrderId)]));
                break;
            case PaymentFacts payment:
                list.Add(("get_invoice", [("invoiceId", payment.InvoiceId)]));
                foreach (var amount in new[] { payment.Subtotal, payment.Total, payment.Tax, 0.01m, 0m, payment.Total + 1, 1.005m })
                {
                    list.Add(("pay_invoice", [("invoiceId", payment.InvoiceId), ("amount", amount)]));
                }

                break;
            case BookingFacts booking:
                list.Add(("search_flights", [("origin", booking.Origin), ("destination", booking.Destination), ("date", booking.Date)]));
                foreach (var flight in booking.Flights)
                {
                    list.Add(("hold_seat", [("flightNumber", flight.Number), ("customerId", customer)]));
                    list.Add(("book_flight", [("flightNumber", flight.Number), ("customerId", customer)]));
                    list.Add(("hold_seat", [("flightNumber", flight.Number), ("customerId", other)]));
                    list.Add(("book_flight", [("flightNumber", flight.Number), ("customerId", other)]));
                }

                break;
            case AddressFacts address:
                list.Add(("update_address", [("customerId", customer), ("address", address.NewAddress)]));
                list.Add(("update_address", [("customerId", other), ("address", address.NewAddress)]));
                list.Add(("update_address", [("customerId", customer), ("address", address.NewAddress)]));
                break;
        }

        return list;
    }

    /// <summary>An independent, deliberately plain model of the rules, written from their description.</summary>
    private sealed class RuleModel(Workplace workplace, WorkplaceTask task, WorkplaceRules rules)
    {
        private readonly HashSet<string> _lookedUp = [];
        private readonly HashSet<string> _refunded = [];
        private readonly HashSet<(string, string)> _holds = [];
        private readonly List<(string Flight, string Customer)> _bookings = [];
        private readonly HashSet<string> _verified = [];
        private readonly Dictionary<string, string> _addresses = [];
        private decimal _paid;

        public bool Succeeded => task.Facts switch
        {
            RefundFacts r => _refunded.Contains(r.OrderId),
            PaymentFacts p => rules.PaymentMustEqualInvoiceTotal ? _paid == p.Total : _paid >= p.Subtotal,
            BookingFacts b => _bookings.Where(x => x.Customer == task.CustomerId).Select(x => x.Flight).SequenceEqual([b.Cheapest.Number]),
            AddressFacts a => _addresses.GetValueOrDefault(task.CustomerId) == a.NewAddress,
            _ => false,
        };

        /// <summary>Returns whether the call should be accepted, and applies it when it is.</summary>
        public bool Apply(string tool, (string Name, object? Value)[] arguments)
        {
            string S(string name) => (string)arguments.Single(a => a.Name == name).Value!;
            bool Customer(string id) => workplace.FindCustomer(id) is not null;
            var order = (task.Facts as RefundFacts)?.OrderId;
            var invoice = task.Facts as PaymentFacts;
            var flights = (task.Facts as BookingFacts)?.Flights.Select(f => f.Number).ToHashSet() ?? [];

            switch (tool)
            {
                case "get_customer":
                    return Customer(S("customerId"));
                case "lookup_order":
                    if (S("orderId") != order) return false;
                    _lookedUp.Add(order);
                    return true;
                case "refund_order":
                    if (S("orderId") != order || _refunded.Contains(order)) return false;
                    if (rules.RefundRequiresLookup && !_lookedUp.Contains(order)) return false;
                    _refunded.Add(order);
                    return true;
                case "get_invoice":
                    return invoice is not null && S("invoiceId") == invoice.InvoiceId;
                case "pay_invoice":
                    var amount = (decimal)arguments.Single(a => a.Name == "amount").Value!;
                    if (invoice is null || S("invoiceId") != invoice.InvoiceId) return false;
                    if (amount <= 0 || amount != decimal.Round(amount, 2) || amount > invoice.Total - _paid) return false;
                    _paid += amount;
                    return true;
                case "search_flights":
                    return true;
                case "hold_seat":
                    if (!flights.Contains(S("flightNumber")) || !Customer(S("customerId"))) return false;
                    _holds.Add((S("flightNumber"), S("customerId")));
                    return true;
                case "book_flight":
                    var booking = (S("flightNumber"), S("customerId"));
                    if (!flights.Contains(booking.Item1) || !Customer(booking.Item2) || _bookings.Contains(booking)) return false;
                    if (rules.BookingRequiresHold && !_holds.Contains(booking)) return false;
                    _bookings.Add(booking);
                    return true;
                case "verify_identity":
                    if (!Customer(S("customerId"))) return false;
                    _verified.Add(S("customerId"));
                    return true;
                case "update_address":
                    if (!Customer(S("customerId")) || string.IsNullOrWhiteSpace(S("address"))) return false;
                    if (rules.AddressChangeRequiresVerification && !_verified.Contains(S("customerId"))) return false;
                    _addresses[S("customerId")] = S("address").Trim();
                    return true;
                default:
                    throw new ArgumentException($"unknown tool {tool}", nameof(tool));
            }
        }
    }
}
