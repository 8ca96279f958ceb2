namespace Lore.Learning;

/// <summary>
/// A learning pipeline acting for one tenant: what the people-facing services (authoring, review) are built on, so
/// that they check their arguments and reach the store and clock the same way.
/// </summary>
internal sealed class TenantPipeline
{
    public TenantPipeline(LearningPipeline pipeline, string tenant)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        Pipeline = pipeline;
        Tenant = tenant;
    }

    public LearningPipeline Pipeline { get; }

    public string Tenant { get; }

    public ILoreStore Store => Pipeline.Store;

    public TimeProvider Time => Pipeline.Time;
}
