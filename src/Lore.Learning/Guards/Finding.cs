namespace Lore.Learning.Guards;

/// <summary>What a finding does to the lesson: nothing but a record, a wait for a reviewer, or a rejection.</summary>
internal enum Severity
{
    Note,
    Review,
    Block,
}

/// <summary>A rule that fired, with what it saw (never the secret or personal data itself) and what it does.</summary>
internal readonly record struct Finding(string Rule, string Detail, Severity Severity)
{
    public GuardFinding ToGuardFinding() => new(Rule, Detail, Severity == Severity.Block);
}
