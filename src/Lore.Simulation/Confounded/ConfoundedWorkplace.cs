using System.Collections.Immutable;
using System.Globalization;

namespace Lore.Simulation.Confounded;

/// <summary>
/// Workplaces built to fool a learner, in the shape of real benchmark logs: kinds of task of very different
/// difficulty that need different tools (bookings are hard and always start with a user look-up; cancellations are
/// easy and start with a reservation look-up), several trials of each task by one customer, state-changing tools that
/// co-occur with failure (failed changes end in a cancellation), a no-op <c>think</c> tool everywhere, and a second
/// domain with its own tools that shares one look-up tool with the first. None of the step patterns in them is a
/// lesson an expert would keep: an honest learner serves nothing from the confounding, only the real tool-error
/// recoveries planted in them.
/// </summary>
public static class ConfoundedWorkplace
{
    /// <summary>The airline-like domain's tools; <c>get_user_details</c> and <c>think</c> are shared with retail.</summary>
    public static IReadOnlyList<string> AirlineTools { get; } = ["get_user_details", "get_reservation_details", "search_direct_flight", "book_reservation", "cancel_reservation", "update_reservation_flights", "calculate", "think"];

    /// <summary>The retail-like domain's tools.</summary>
    public static IReadOnlyList<string> RetailTools { get; } = ["get_user_details", "get_order_details", "find_user_id_by_email", "find_user_id_by_name_zip", "return_delivered_order_items", "cancel_pending_order", "think"];

    /// <summary>
    /// Trajectories of <paramref name="tasksPerKind"/> tasks of each kind, <paramref name="trials"/> trials each, one
    /// customer per task, labelled <c>slice=airline</c> or <c>slice=retail</c> and <c>task_id</c>.
    /// </summary>
    public static IReadOnlyList<Episode> Episodes(int seed, int tasksPerKind = 12, int trials = 4)
    {
        var random = new Random(seed);
        var episodes = new List<Episode>();
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var task = 0;
        foreach (var kind in new[] { "book", "cancel", "change", "return", "find" })
        {
            for (var t = 0; t < tasksPerKind; t++, task++)
            {
                // How hard this task is: bookings and changes mostly fail whatever the agent does.
                var difficulty = kind switch
                {
                    "book" => 0.8,
                    "change" => 0.6,
                    "cancel" => 0.1,
                    "return" => 0.5,
                    _ => 0.3,
                };
                for (var trial = 0; trial < trials; trial++)
                {
                    var failed = random.NextDouble() < difficulty;
                    var steps = new List<Step>();
                    void Tool(string name, string args, string result) => steps.Add(Step.Tool(steps.Count, name, args, result, $"call-{steps.Count}", at: start));
                    var slice = kind is "return" or "find" ? "retail" : "airline";
                    switch (kind)
                    {
                        case "book":
                            Tool("get_user_details", $$"""{"user_id":"u{{task}}"}""", """{"payment_methods":["gift_card_1"]}""");
                            Tool("think", """{"thought":"check the budget"}""", "");
                            Tool("search_direct_flight", """{"origin":"JFK","destination":"SFO"}""", "[...]");
                            if (random.NextDouble() < 0.5)
                            {
                                // A real, recoverable tool error: the amount does not add up until calculated.
                                Tool("book_reservation", """{"payment_methods":[{"amount":100}]}""", "Error: payment amount does not add up, total price is 412, but paid 100");
                                Tool("calculate", """{"expression":"206 * 2"}""", "412");
                                Tool("book_reservation", """{"payment_methods":[{"amount":412}]}""", """{"reservation_id":"R1"}""");
                            }
                            else
                            {
                                Tool("book_reservation", """{"payment_methods":[{"amount":412}]}""", """{"reservation_id":"R1"}""");
                            }

                            break;
                        case "cancel":
                            Tool("get_reservation_details", $$"""{"reservation_id":"R{{task}}"}""", "{}");
                            Tool("cancel_reservation", $$"""{"reservation_id":"R{{task}}"}""", "{\"status\":\"cancelled\"}");
                            break;
                        case "change":
                            Tool("get_reservation_details", $$"""{"reservation_id":"R{{task}}"}""", "{}");
                            Tool("search_direct_flight", """{"origin":"JFK","destination":"SFO"}""", "[...]");
                            Tool("update_reservation_flights", $$"""{"reservation_id":"R{{task}}"}""", failed ? "Error: not enough seats on flight HAT123" : "{}");
                            if (failed)
                            {
                                // The confounder: failed changes end in a cancellation, so "cancel" co-occurs with failure.
                                Tool("cancel_reservation", $$"""{"reservation_id":"R{{task}}"}""", "{\"status\":\"cancelled\"}");
                            }

                            break;
                        case "return":
                            Tool("get_user_details", $$"""{"user_id":"u{{task}}"}""", "{}");
                            Tool("get_order_details", $$"""{"order_id":"#W{{task}}"}""", "{}");
                            Tool("return_delivered_order_items", $$"""{"order_id":"#W{{task}}"}""", "{}");
                            break;
                        default:
                            Tool("find_user_id_by_email", $$"""{"email":"x{{task}}@example.com"}""", "Error: user not found");
                            Tool("find_user_id_by_name_zip", $$"""{"first_name":"A","last_name":"B","zip":"1{{task:D4}}"}""", $"u{task}");
                            Tool("get_order_details", $$"""{"order_id":"#W{{task}}"}""", "{}");
                            Tool("cancel_pending_order", $$"""{"order_id":"#W{{task}}"}""", "{}");
                            break;
                    }

                    var id = string.Create(CultureInfo.InvariantCulture, $"cw-{seed}-{task}-{trial}");
                    episodes.Add(new Episode
                    {
                        Id = id,
                        Sequence = episodes.Count + 1,
                        UnitKey = $"customer-{task}",
                        Task = $"{kind} request of customer {task}, trial wording {trial}",
                        Labels = ImmutableSortedDictionary<string, string>.Empty
                            .Add("slice", slice)
                            .Add("task_id", task.ToString(CultureInfo.InvariantCulture)),
                        StartedAt = start.AddMinutes(episodes.Count),
                        EndedAt = start.AddMinutes(episodes.Count + 1),
                        Steps = steps,
                        Outcomes = [Outcome.Scored(failed ? 0 : 1, OutcomeSource.Environment, actor: "confounded-workplace", at: start)],
                        Origin = "simulation:confounded",
                    });
                }
            }
        }

        return episodes;
    }
}
