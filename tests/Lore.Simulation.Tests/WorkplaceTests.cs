using Lore.Simulation;
using Microsoft.Extensions.AI;

namespace Lore.Simulation.Tests;

public sealed class WorkplaceTests
{
    private static readonly Workplace Desk = new(seed: 7);

    [Fact]
    public void The_same_seed_gives_the_same_customers_and_tickets()
    {
        var again = new Workplace(seed: 7);
        Assert.Equal(Desk.Customers, again.Customers);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(Desk.CreateTask(i).Text, again.CreateTask(i).Text);
        }

        var other = new Workplace(seed: 8);
        Assert.NotEqual(
            Enumerable.Range(0, 20).Select(i => Desk.CreateTask(i).Text),
            Enumerable.Range(0, 20).Select(i => other.CreateTask(i).Text));
    }

    [Fact]
    public void Tickets_spread_over_every_slice_many_customers_and_varied_wording()
    {
        var tasks = Enumerable.Range(0, 400).Select(Desk.CreateTask).ToList();

        Assert.Equal(400, tasks.Select(t => t.Id).Distinct().Count());
        Assert.Equal(400, tasks.Select(t => t.Text).Distinct().Count());
        foreach (var slice in WorkplaceSlices.All)
        {
            var ofSlice = tasks.Where(t => t.Slice == slice).ToList();
            Assert.InRange(ofSlice.Count, 70, 130);
            Assert.Equal(slice, ofSlice[0].CreateLabels()["slice"]);

            // Varied phrasing: the words after the ticket id differ in their opening, not just in ids.
            var openings = ofSlice.Select(t => string.Join(' ', t.Text.Split(' ').Skip(2).Take(2))).Distinct().Count();
            Assert.True(openings >= 3, $"{slice} tickets open in only {openings} ways");
        }

        Assert.True(tasks.Select(t => t.CustomerId).Distinct().Count() >= 90, "tickets should come from many customers");
        Assert.All(tasks, t => Assert.NotNull(Desk.FindCustomer(t.CustomerId)));
    }

    [Fact]
    public async Task Refund_without_lookup_is_refused_with_an_error_naming_the_order()
    {
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Refunds, 1).Single();
        var environment = Desk.CreateEnvironment(task);
        var order = ((RefundFacts)task.Facts).OrderId;

        var refused = await Call(environment, "refund_order", ("orderId", order));
        Assert.Equal($"Error: order {order} must be looked up before it can be refunded", refused);
        Assert.False(environment.Judge().Success);

        Assert.StartsWith($"Order {order}: customer {task.CustomerId}", await Call(environment, "lookup_order", ("orderId", order)));
        Assert.StartsWith("Refund of ", await Call(environment, "refund_order", ("orderId", order)));
        Assert.Equal(new WorkplaceVerdict(true, $"order {order} was refunded"), environment.Judge());
        Assert.Equal(["refund_order", "lookup_order", "refund_order"], environment.Calls.Select(c => c.Name));
        Assert.Equal([true, false, false], environment.Calls.Select(c => c.Failed));
    }

    [Fact]
    public async Task Paying_the_stated_amount_is_accepted_silently_but_the_invoice_stays_underpaid()
    {
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Payments, 1).Single();
        var facts = (PaymentFacts)task.Facts;
        Assert.Contains($"${Workplace.F(facts.Subtotal)}", task.Text, StringComparison.Ordinal);
        Assert.True(facts.Tax > 0);

        var environment = Desk.CreateEnvironment(task);
        var accepted = await Call(environment, "pay_invoice", ("invoiceId", facts.InvoiceId), ("amount", facts.Subtotal));
        Assert.False(Step.LooksLikeToolError(accepted));
        var verdict = environment.Judge();
        Assert.False(verdict.Success);
        Assert.Contains("underpaid", verdict.Reason, StringComparison.Ordinal);

        var careful = Desk.CreateEnvironment(task);
        var invoice = await Call(careful, "get_invoice", ("invoiceId", facts.InvoiceId));
        Assert.Contains($"total {Workplace.F(facts.Total)}", invoice, StringComparison.Ordinal);
        await Call(careful, "pay_invoice", ("invoiceId", facts.InvoiceId), ("amount", facts.Total));
        Assert.True(careful.Judge().Success);
    }

    [Fact]
    public async Task Booking_needs_a_held_seat_and_only_the_cheapest_flight_counts()
    {
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Bookings, 1).Single();
        var facts = (BookingFacts)task.Facts;
        var cheapest = facts.Cheapest.Number;
        var environment = Desk.CreateEnvironment(task);

        var listing = await Call(environment, "search_flights", ("origin", facts.Origin), ("destination", facts.Destination), ("date", facts.Date));
        Assert.All(facts.Flights, f => Assert.Contains(f.Number, listing, StringComparison.Ordinal));
        Assert.Equal(
            $"Error: a seat on flight {cheapest} must be held for customer {task.CustomerId} before it can be booked",
            await Call(environment, "book_flight", ("flightNumber", cheapest), ("customerId", task.CustomerId)));
        await Call(environment, "hold_seat", ("flightNumber", cheapest), ("customerId", task.CustomerId));
        Assert.StartsWith("Booked ", await Call(environment, "book_flight", ("flightNumber", cheapest), ("customerId", task.CustomerId)));
        Assert.True(environment.Judge().Success);

        var wrong = Desk.CreateEnvironment(task, WorkplaceRules.Default with { BookingRequiresHold = false });
        var dearer = facts.Flights.First(f => f.Number != cheapest).Number;
        Assert.StartsWith("Booked ", await Call(wrong, "book_flight", ("flightNumber", dearer), ("customerId", task.CustomerId)));
        Assert.False(wrong.Judge().Success);
    }

    [Fact]
    public async Task Address_change_needs_a_verified_identity()
    {
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Account, 1).Single();
        var address = ((AddressFacts)task.Facts).NewAddress;
        var environment = Desk.CreateEnvironment(task);

        Assert.Equal(
            $"Error: the identity of customer {task.CustomerId} must be verified before the address can be changed",
            await Call(environment, "update_address", ("customerId", task.CustomerId), ("address", address)));
        Assert.DoesNotContain(address, await Call(environment, "get_customer", ("customerId", task.CustomerId)), StringComparison.Ordinal);
        await Call(environment, "verify_identity", ("customerId", task.CustomerId));
        await Call(environment, "update_address", ("customerId", task.CustomerId), ("address", address));
        Assert.Contains(address, await Call(environment, "get_customer", ("customerId", task.CustomerId)), StringComparison.Ordinal);
        Assert.True(environment.Judge().Success);
    }

    [Fact]
    public async Task Gold_members_are_verified_by_their_account_manager_and_the_automated_check_on_them_fails_with_its_category()
    {
        var rules = WorkplaceRules.Default with { GoldMembersVerifiedByAccountManager = true };
        var tasks = AgentHarness.TasksOf(Desk, WorkplaceSlices.Account, 60).ToList();
        var gold = tasks.First(t => Desk.FindCustomer(t.CustomerId)!.Tier == "gold");
        var other = tasks.First(t => Desk.FindCustomer(t.CustomerId)!.Tier != "gold");

        // A gold member's address changes without the check; running it anyway breaks the workplace's policy.
        var direct = Desk.CreateEnvironment(gold, rules);
        await Call(direct, "update_address", ("customerId", gold.CustomerId), ("address", ((AddressFacts)gold.Facts).NewAddress));
        Assert.Equal(new WorkplaceVerdict(true, $"the address of customer {gold.CustomerId} was changed"), direct.Judge());

        var checkedFirst = Desk.CreateEnvironment(gold, rules);
        await Call(checkedFirst, "verify_identity", ("customerId", gold.CustomerId));
        await Call(checkedFirst, "update_address", ("customerId", gold.CustomerId), ("address", ((AddressFacts)gold.Facts).NewAddress));
        var verdict = checkedFirst.Judge();
        Assert.False(verdict.Success);
        Assert.Equal(WorkplaceVerdict.GoldMemberCheckedAutomatically, verdict.Category);
        Assert.Equal("category: automated identity check on a gold member", FailureModes.Of(new Episode { Id = "ep-gold", Task = gold.Text, StartedAt = DateTimeOffset.UnixEpoch, Outcomes = [verdict.ToOutcome()] }));

        // Everyone else still needs the check, and a failure that breaks no policy carries no category.
        var unverified = Desk.CreateEnvironment(other, rules);
        Assert.StartsWith("Error: the identity", await Call(unverified, "update_address", ("customerId", other.CustomerId), ("address", ((AddressFacts)other.Facts).NewAddress)), StringComparison.Ordinal);
        Assert.Null(unverified.Judge().Category);
        Assert.Null(unverified.Judge().ToOutcome().Category);
    }

    [Fact]
    public async Task Switched_off_rules_let_the_shortcut_through()
    {
        var lax = new WorkplaceRules
        {
            RefundRequiresLookup = false,
            PaymentMustEqualInvoiceTotal = false,
            BookingRequiresHold = false,
            AddressChangeRequiresVerification = false,
        };
        foreach (var slice in WorkplaceSlices.All)
        {
            var task = AgentHarness.TasksOf(Desk, slice, 1).Single();
            var (strict, _) = await AgentHarness.RunAsync(Desk, task, ShortcutAgent);
            var (relaxed, _) = await AgentHarness.RunAsync(Desk, task, ShortcutAgent, rules: lax);
            Assert.False(strict.Judge().Success, $"{slice}: the shortcut should fail under the default rules");
            Assert.True(relaxed.Judge().Success, $"{slice}: the shortcut should pass once the rule is off ({relaxed.Judge().Reason})");
        }
    }

    [Fact]
    public void Tools_are_exposed_as_functions_whose_descriptions_do_not_give_the_rules_away()
    {
        var environment = Desk.CreateEnvironment(Desk.CreateTask(0));
        Assert.Equal(
            ["get_customer", "lookup_order", "refund_order", "get_invoice", "pay_invoice", "search_flights", "hold_seat", "book_flight", "verify_identity", "update_address"],
            environment.Tools.Select(t => t.Name));
        foreach (var tool in environment.Tools)
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.Description));
            Assert.DoesNotContain("must", tool.Description, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("first", tool.Description, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void A_verdict_becomes_an_environment_outcome()
    {
        var success = new WorkplaceVerdict(true, "done").ToOutcome();
        var failure = new WorkplaceVerdict(false, "not done").ToOutcome();
        Assert.Equal((1.0, OutcomeSource.Environment, "done"), (success.Score, success.Source, success.Comment));
        Assert.Equal((0.0, OutcomeSource.Environment, "not done"), (failure.Score, failure.Source, failure.Comment));
    }

    /// <summary>An agent that always takes the shortcut and never recovers.</summary>
    internal static readonly SimulatedAgentProfile ShortcutAgent = new()
    {
        SkipOrderLookup = 1,
        PayStatedAmount = 1,
        SkipSeatHold = 1,
        SkipIdentityCheck = 1,
        RecoverAfterError = 0,
        StopEarly = 0,
        CheckCustomerFirst = 0,
    };

    internal static async Task<string> Call(WorkplaceEnvironment environment, string tool, params (string Name, object? Value)[] arguments)
    {
        var function = environment.Tools.Single(t => t.Name == tool);
        var result = await function.InvokeAsync(new AIFunctionArguments(arguments.ToDictionary(a => a.Name, a => a.Value)), TestContext.Current.CancellationToken);
        return ConversationView.ResultText(new FunctionResultContent("test", result));
    }
}
