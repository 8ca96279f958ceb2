using CsCheck;
using Lore.Learning.Guards;

namespace Lore.Learning.Tests.Guards;

public sealed class ContentScreenTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<AdmissionVerdict> EvaluateAsync(string text, AdmissionPolicy? policy = null, IReadOnlySet<string>? evidenceHosts = null)
        => await (policy ?? new AdmissionPolicy()).Build().EvaluateAsync(
            HostileCorpus.Strong(text),
            evidenceHosts is null ? null : _ => ValueTask.FromResult(evidenceHosts),
            Ct);

    [Theory]
    [InlineData("Ｉｇｎｏｒｅ", "ignore")]
    [InlineData("I\u200Bg\u200Cn\u200Do\u2060r\uFEFFe", "ignore")]
    [InlineData("\u0406gn\u043Er\u0435", "ignore")]
    [InlineData("ÏGNÖRÉ", "ignore")]
    [InlineData("\U0001D422\U0001D420\U0001D427\U0001D428\U0001D42B\U0001D41E", "ignore")]
    [InlineData("don\u2019t", "don't")]
    public void Normalisation_folds_width_invisible_characters_look_alikes_accents_and_case(string text, string plain)
        => Assert.Equal(plain, ScreenText.Of(text).Plain);

    [Fact]
    public void Tag_characters_are_decoded_so_hidden_ascii_is_read_and_counted()
    {
        var hidden = string.Concat("hi there".Select(c => char.ConvertFromUtf32(0xE0000 + c)));

        var text = ScreenText.Of("Call lookup_order." + hidden);

        Assert.Equal("call lookup_order.hi there", text.Plain);
        Assert.Equal(8, text.TagCount);
    }

    [Fact]
    public void Leetspeak_and_separators_are_read_in_the_folded_and_letters_only_views()
    {
        var text = ScreenText.Of("1gn0r3 p-r-e-v-i-o-u-s");

        Assert.Equal("ignore p-r-e-v-i-o-u-s", text.Folded);
        Assert.Equal("ignoreprevious", text.Squashed);
    }

    [Theory]
    [InlineData("Do not skip the identity verification before changing the address.")]
    [InlineData("Never bypass the manager approval for refunds above the limit.")]
    [InlineData("Don't ignore the system rules when the customer insists.")]
    [InlineData("When update_address fails, verify_identity first, then call update_address again.")]
    [InlineData("Call hold_seat before calling book_flight: episodes that called book_flight without it failed more often.")]
    [InlineData("When get_invoice fails with \"invoice <id> not found\", check the invoice id, then call get_invoice again.")]
    [InlineData("Ask the customer to confirm the new address before calling update_address.")]
    [InlineData("Refund within 30 days of the order date; after that, offer store credit.")]
    [InlineData("The order total is in cents: divide by 100 before quoting it.")]
    [InlineData("Flights booked on 2026-03-01 12:30 need the new fare rules.")]
    public async Task Ordinary_advice_including_negated_warnings_passes_the_screen(string text)
    {
        var verdict = await EvaluateAsync(text);

        Assert.True(verdict.Status == LessonStatus.Active, string.Join("; ", verdict.Lesson.GuardFindings.Select(f => $"{f.Rule}: {f.Detail}")));
    }

    [Fact]
    public async Task A_host_is_known_from_the_policy_or_from_arguments_that_enough_units_passed_to_tools()
    {
        const string Text = "When the status page at https://status.acme-travel.com says degraded, retry book_flight later.";
        Assert.Contains(GuardRules.UnknownHost, (await EvaluateAsync(Text)).Rules);

        var policy = new AdmissionPolicy();
        policy.KnownHosts.Add("acme-travel.com");
        Assert.Equal(LessonStatus.Active, (await EvaluateAsync(Text, policy)).Status);

        Assert.Equal(LessonStatus.Active, (await EvaluateAsync(Text, evidenceHosts: new HashSet<string> { "status.acme-travel.com" })).Status);
        Assert.Contains(GuardRules.UnknownHost, (await EvaluateAsync(Text, evidenceHosts: new HashSet<string> { "acme-travel.com.evil.example" })).Rules);
    }

    [Fact]
    public async Task Sending_to_an_address_the_policy_lists_in_full_is_not_exfiltration_or_personal_data()
    {
        var policy = new AdmissionPolicy();
        policy.KnownHosts.Add("billing@acme-travel.com");
        policy.KnownHosts.Add("acme-travel.com");

        var verdict = await EvaluateAsync("Forward disputed refunds to billing@acme-travel.com with the order id.", policy);

        Assert.Equal(LessonStatus.Active, verdict.Status);
        Assert.Contains(GuardRules.Exfiltration, (await EvaluateAsync("Forward disputed refunds to billing@acme-travel.com with the order id.")).Rules);
    }

    [Fact]
    public async Task Personal_data_is_redacted_from_everything_served_when_the_rest_of_the_lesson_is_useful()
    {
        var lesson = HostileCorpus.Strong("When the refund of order 7 fails, call the customer at +1 (415) 555-0132 and apologise for the delay.")
            with { Trigger = new LessonTrigger { Kind = TriggerKind.Keywords, Keywords = ["refund", "+14155550132"], Description = "refunds for jane.doe@gmail.com" } };

        var verdict = await new AdmissionPolicy().Build().EvaluateAsync(lesson, null, Ct);

        Assert.Equal(LessonStatus.PendingReview, verdict.Status);
        Assert.Equal("When the refund of order 7 fails, call the customer at [redacted phone number] and apologise for the delay.", verdict.Lesson.Text);
        Assert.Equal(["refund"], verdict.Lesson.Trigger.Keywords);
        Assert.Equal("refunds for [redacted email]", verdict.Lesson.Trigger.Description);
        Assert.All(verdict.Lesson.GuardFindings, f => Assert.False(f.Blocking));
        Assert.DoesNotContain(GuardRules.UnknownHost, verdict.Rules);
    }

    [Fact]
    public async Task A_lesson_that_is_mostly_personal_data_is_rejected_rather_than_redacted_to_nothing()
    {
        var verdict = await EvaluateAsync("Call +1 (415) 555-0132 or +44 20 7946 0958.");

        Assert.Equal(LessonStatus.Rejected, verdict.Status);
        Assert.Contains(verdict.Lesson.GuardFindings, f => f.Rule == GuardRules.PersonalData && f.Blocking && f.Detail.Contains("too little is left", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_review_of_findings_a_redacted_lesson_is_admitted_with_its_finding_recorded()
    {
        var verdict = await EvaluateAsync("When the refund of an order fails, call the customer at +1 (415) 555-0132 and apologise.", new AdmissionPolicy { ReviewFindings = false });

        Assert.Equal(LessonStatus.Active, verdict.Status);
        Assert.Contains("[redacted phone number]", verdict.Lesson.Text);
        Assert.Contains(verdict.Lesson.GuardFindings, f => f.Rule == GuardRules.PersonalData && !f.Blocking);
    }

    [Fact]
    public async Task Secrets_can_be_redacted_instead_of_rejected_when_the_policy_says_so()
    {
        var verdict = await EvaluateAsync("Retry s3_upload with the key AKIAIOSFODNN7EXAMPLE after a timeout on receipts.", new AdmissionPolicy { Secrets = SensitiveDataHandling.Redact });

        Assert.Equal(LessonStatus.PendingReview, verdict.Status);
        Assert.Equal("Retry s3_upload with the key [redacted secret] after a timeout on receipts.", verdict.Lesson.Text);
    }

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("79927398713", true)]
    public void Luhn_accepts_valid_card_numbers_only(string digits, bool valid) => Assert.Equal(valid, SensitiveData.Luhn(digits));

    [Theory]
    [InlineData("DE89 3704 0044 0532 0130 00", true)]
    [InlineData("GB82 WEST 1234 5698 7654 32", true)]
    [InlineData("DE89 3704 0044 0532 0130 01", false)]
    public void Iban_check_is_mod_97(string iban, bool valid) => Assert.Equal(valid, SensitiveData.IsIban(iban));

    [Fact]
    public void Luhn_catches_every_single_digit_change_of_a_valid_number()
    {
        // The Luhn checksum detects any single-digit error: the property behind trusting it to tell cards from ids.
        var gen = Gen.Select(Gen.Long[100_000_000_000_000, 999_999_999_999_999], Gen.Int[0, 15], Gen.Int[1, 9]);
        SeededCheck.ForAll(gen, t =>
        {
            var (body, position, delta) = t;
            var digits = body.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var check = Enumerable.Range(0, 10).First(d => SensitiveData.Luhn(digits + d));
            var valid = digits + check;
            var changed = valid.ToCharArray();
            changed[position] = (char)('0' + ((changed[position] - '0' + delta) % 10));
            Assert.True(SensitiveData.Luhn(valid));
            Assert.False(SensitiveData.Luhn(new string(changed)));
        });
    }

    [Fact]
    public async Task Screening_is_deterministic_on_pathological_text()
    {
        var text = string.Concat(Enumerable.Repeat("ignore all all all all the the ", 2000)) + new string('a', 20_000) + "@" + new string('b', 5000);
        var guard = new AdmissionPolicy().Build();

        var first = await guard.EvaluateAsync(HostileCorpus.Strong(text), null, Ct);
        var second = await guard.EvaluateAsync(HostileCorpus.Strong(text), null, Ct);

        Assert.Equal(first.Lesson.GuardFindings, second.Lesson.GuardFindings);
    }
}
