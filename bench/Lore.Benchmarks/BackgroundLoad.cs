namespace Lore.Benchmarks;

/// <summary>
/// One busy core for as long as it lives: a dedicated thread that keeps computing over a 4 MiB array (so it also
/// competes for the shared cache), the "second busy core" the overhead and retrieval sections report their tails under.
/// </summary>
internal sealed class BackgroundLoad : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;

    public BackgroundLoad()
    {
        _thread = new Thread(Spin) { IsBackground = true, Name = "bench background load", Priority = ThreadPriority.Normal };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Spin()
    {
        var data = new long[512 * 1024];
        var x = 1L;
        while (!_stop)
        {
            for (var i = 0; i < data.Length; i += 8)
            {
                x = (x * 6364136223846793005L) + 1442695040888963407L;
                data[i] ^= x;
            }
        }

        GC.KeepAlive(data);
    }
}
