// The shared batcher behind MotionguardStreamer: one ingest connection per (server, fps),
// one fixed-rate clock, and one `frames` message per tick holding every registered avatar's
// pose. Plain C#: a game loop (Unity's LateUpdate, or a test harness) calls Pump.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace Motionguard
{
    /// <summary>Something with a pose to stream: one avatar.</summary>
    public interface IMotionguardPoseSource
    {
        /// <summary>The avatar id sent with each frame (unique per server; stable while streaming).</summary>
        string AvatarId { get; }

        /// <summary>
        /// Writes the 21 canonical joints (63 floats: x, y, z each, canonical order) from
        /// <paramref name="offset"/>, in protocol axes (right-handed, Y up) and metres. Returns
        /// false to skip this avatar for this tick.
        /// </summary>
        bool TryWritePose(float[] destination, int offset);
    }

    public sealed class MotionguardPublisher : IDisposable
    {
        private static readonly Dictionary<string, MotionguardPublisher> Shared = new Dictionary<string, MotionguardPublisher>();
        private const int ErrorsLoggedPerCode = 5;
        private const int MaxQueuedEvents = 1000;

        private readonly MotionguardConnection connection;
        private readonly IMotionguardLog log;
        private readonly List<IMotionguardPoseSource> sources = new List<IMotionguardPoseSource>();
        private readonly ConcurrentQueue<object> inbox = new ConcurrentQueue<object>();
        private readonly Dictionary<string, int> errorCounts = new Dictionary<string, int>();
        private readonly MsgPackWriter writer = new MsgPackWriter(4096);
        private float[] positions = new float[MotionguardProtocol.ValuesPerFrame * 8];
        private string[] avatars = new string[8];
        private string sharedKey;
        private int references;
        private bool clockStarted;
        private double epoch;
        private long lastTick = -1;
        private int readyConnection;
        private volatile MotionguardReady ready;
        private long ticksSent, framesSent, framesDropped, errorsReceived;

        private sealed class ConnectionEvent
        {
            public bool Open;
            public string Reason;
        }

        /// <param name="serverUrl">"ws://host:8080" (the ingest path is added), or a full ws:// URL.</param>
        /// <param name="fps">Frames per second per avatar: the rate of Pump's clock and the hello's fps.</param>
        public MotionguardPublisher(string serverUrl, double fps = 30, IMotionguardLog log = null, MotionguardConnectionOptions options = null)
        {
            if (!(fps >= 1 && fps <= 1000)) throw new ArgumentOutOfRangeException("fps", "fps must be in [1, 1000], got " + fps);
            Fps = fps;
            this.log = log ?? SilentMotionguardLog.Instance;
            connection = new MotionguardConnection(MotionguardProtocol.BuildUri(serverUrl, MotionguardProtocol.IngestPath), options, this.log, "motionguard ingest");
            byte[] hello = MotionguardProtocol.EncodeHello(fps);
            connection.Handshake = () => new[] { hello };
            connection.MessageReceived += OnMessage;
            connection.Opened += () => inbox.Enqueue(new ConnectionEvent { Open = true });
            connection.Closed += reason => inbox.Enqueue(new ConnectionEvent { Open = false, Reason = reason });
            connection.Start();
        }

        /// <summary>
        /// The publisher shared by every caller with the same server and fps (one connection, one
        /// message per tick for all of them). Pair each call with <see cref="Release"/>.
        /// </summary>
        public static MotionguardPublisher Acquire(string serverUrl, double fps = 30, IMotionguardLog log = null, MotionguardConnectionOptions options = null)
        {
            string key = MotionguardProtocol.BuildUri(serverUrl, MotionguardProtocol.IngestPath) + "|" + fps.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            lock (Shared)
            {
                MotionguardPublisher publisher;
                if (!Shared.TryGetValue(key, out publisher))
                {
                    publisher = new MotionguardPublisher(serverUrl, fps, log, options) { sharedKey = key };
                    Shared[key] = publisher;
                }
                publisher.references++;
                return publisher;
            }
        }

        /// <summary>Gives back one <see cref="Acquire"/>; the last one closes the connection.</summary>
        public void Release()
        {
            lock (Shared)
            {
                if (references <= 0) return;
                if (--references > 0) return;
                if (sharedKey != null) Shared.Remove(sharedKey);
            }
            Dispose();
        }

        /// <summary>Closes every shared publisher (Unity calls it when play mode starts without a domain reload).</summary>
        public static void ResetShared()
        {
            List<MotionguardPublisher> all;
            lock (Shared)
            {
                all = new List<MotionguardPublisher>(Shared.Values);
                Shared.Clear();
            }
            foreach (var publisher in all)
            {
                publisher.references = 0;
                publisher.Dispose();
            }
        }

        public double Fps { get; private set; }

        public MotionguardConnection Connection { get { return connection; } }

        /// <summary>Connected, and the server answered this connection's hello with ready.</summary>
        public bool IsReady { get { return connection.IsOpen && Volatile.Read(ref readyConnection) == connection.Connections; } }

        /// <summary>The server's latest ready (model fps, joint names, limits, thresholds); null before the first.</summary>
        public MotionguardReady LastReady { get { return ready; } }

        /// <summary>Ticks that sent at least one frame.</summary>
        public long TicksSent { get { return ticksSent; } }
        public long FramesSent { get { return framesSent; } }
        /// <summary>Frames sampled while not connected (not sent).</summary>
        public long FramesDropped { get { return framesDropped; } }
        public long ErrorsReceived { get { return Interlocked.Read(ref errorsReceived); } }
        /// <summary>The last tick's seq (-1 before the first).</summary>
        public long LastSeq { get { return lastTick; } }
        public int SourceCount { get { return sources.Count; } }

        /// <summary>The server answered hello (raised by Pump, on the caller's thread).</summary>
        public event Action<MotionguardReady> Ready;
        /// <summary>The server refused a message or frame (raised by Pump).</summary>
        public event Action<MotionguardError> ErrorReceived;
        /// <summary>Connected (true) or lost (false) (raised by Pump).</summary>
        public event Action<bool> ConnectionChanged;

        public void AddSource(IMotionguardPoseSource source)
        {
            if (source == null) throw new ArgumentNullException("source");
            if (sources.Contains(source)) return;
            foreach (var other in sources)
            {
                if (other.AvatarId == source.AvatarId) log.Warning("motionguard: two avatars stream as '" + source.AvatarId + "': give each a unique avatar id (the server refuses the second frame of each tick as a duplicate)");
            }
            sources.Add(source);
        }

        public void RemoveSource(IMotionguardPoseSource source)
        {
            sources.Remove(source);
        }

        /// <summary>
        /// Call every frame after animation (any number of callers per frame) with a monotonic clock
        /// in seconds. When the fps clock has reached a new tick, samples every source once and
        /// sends one <c>frames</c> message (split only beyond the server's limits) with seq = the
        /// tick number: a stalled game leaves a seq gap, which the server interpolates (up to 1 s)
        /// or treats as a new start. Also raises the events received since the last call.
        /// Returns the frames sampled.
        /// </summary>
        public int Pump(double now)
        {
            DispatchEvents();
            if (!clockStarted)
            {
                clockStarted = true;
                epoch = now;
            }
            long tick = (long)Math.Floor((now - epoch) * Fps + 1e-6);
            if (tick <= lastTick) return 0;
            lastTick = tick;
            int count = Sample();
            if (count == 0) return 0;
            if (!connection.IsOpen)
            {
                framesDropped += count;
                return count;
            }
            long timeMs = (long)(DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalMilliseconds;
            var current = ready;
            int maxFrames = current != null && current.Limits.MaxFramesPerMessage > 0 ? current.Limits.MaxFramesPerMessage : MotionguardProtocol.DefaultMaxFramesPerMessage;
            int maxBytes = current != null && current.Limits.MaxMessageBytes > 0 ? current.Limits.MaxMessageBytes : MotionguardProtocol.DefaultMaxMessageBytes;
            int start = 0;
            while (start < count)
            {
                // Bytes per frame are bounded by 300 + 3 per avatar id character: cut before the limit.
                int n = 0;
                long bytes = 16;
                while (start + n < count && n < maxFrames)
                {
                    long frameBytes = 300 + 3L * avatars[start + n].Length;
                    if (n > 0 && bytes + frameBytes > maxBytes) break;
                    bytes += frameBytes;
                    n++;
                }
                writer.Clear();
                MotionguardProtocol.BeginFrames(writer, n);
                for (int i = start; i < start + n; i++)
                {
                    MotionguardProtocol.WriteFrame(writer, avatars[i], tick, timeMs, positions, i * MotionguardProtocol.ValuesPerFrame);
                }
                if (connection.Send(writer.ToArray())) framesSent += n;
                else framesDropped += n;
                start += n;
            }
            ticksSent++;
            return count;
        }

        /// <summary>Raises the events received since the last call, on the caller's thread (Pump calls it).</summary>
        public void DispatchEvents()
        {
            object item;
            while (inbox.TryDequeue(out item))
            {
                var change = item as ConnectionEvent;
                if (change != null)
                {
                    var handler = ConnectionChanged;
                    if (handler != null) Guard(() => handler(change.Open));
                    continue;
                }
                var readyMessage = item as MotionguardReady;
                if (readyMessage != null)
                {
                    log.Info("motionguard ingest: streaming to " + connection.Uri + " at " + Fps + " fps (model " + readyMessage.Fps + " fps, " + readyMessage.Joints + " joints; thresholds " + readyMessage.Thresholds + ")");
                    var handler = Ready;
                    if (handler != null) Guard(() => handler(readyMessage));
                    continue;
                }
                var error = item as MotionguardError;
                if (error != null)
                {
                    int seen;
                    errorCounts.TryGetValue(error.Code, out seen);
                    errorCounts[error.Code] = ++seen;
                    if (seen <= ErrorsLoggedPerCode) log.Warning("motionguard ingest: the server refused: " + error + (seen == ErrorsLoggedPerCode ? " (further '" + error.Code + "' errors are logged every 100th)" : ""));
                    else if (seen % 100 == 0) log.Warning("motionguard ingest: the server refused: " + error + " (" + seen + " '" + error.Code + "' errors so far)");
                    var handler = ErrorReceived;
                    if (handler != null) Guard(() => handler(error));
                }
            }
        }

        /// <summary>Closes the connection (does not wait). Prefer <see cref="Release"/> for shared publishers.</summary>
        public void Dispose()
        {
            connection.Dispose();
        }

        private int Sample()
        {
            int n = 0;
            for (int s = 0; s < sources.Count; s++)
            {
                var source = sources[s];
                if (n == avatars.Length)
                {
                    Array.Resize(ref avatars, n * 2);
                    Array.Resize(ref positions, n * 2 * MotionguardProtocol.ValuesPerFrame);
                }
                bool ok;
                try
                {
                    ok = source.TryWritePose(positions, n * MotionguardProtocol.ValuesPerFrame);
                }
                catch (Exception error)
                {
                    log.Error("motionguard: reading the pose of '" + source.AvatarId + "' failed: " + error);
                    ok = false;
                }
                if (!ok) continue;
                avatars[n++] = source.AvatarId;
            }
            return n;
        }

        private void OnMessage(byte[] data, bool binary)
        {
            MotionguardMessage message;
            try
            {
                message = binary ? MotionguardProtocol.ParseServerMessage(data) : null;
            }
            catch (MsgPackException error)
            {
                log.Warning("motionguard ingest: an unreadable message from the server: " + error.Message);
                return;
            }
            if (message is MotionguardReady)
            {
                ready = (MotionguardReady)message;
                Volatile.Write(ref readyConnection, connection.Connections);
                inbox.Enqueue(message);
            }
            else if (message is MotionguardError)
            {
                Interlocked.Increment(ref errorsReceived);
                // A flood of refusals while nobody pumps must not grow without bound: they stay counted.
                if (inbox.Count < MaxQueuedEvents) inbox.Enqueue(message);
            }
        }

        private void Guard(Action action)
        {
            try { action(); }
            catch (Exception error) { log.Error("motionguard: an event handler failed: " + error); }
        }
    }
}
