// One WebSocket to the motionguard server that stays up: connects in the background, sends
// a handshake (hello or subscribe) first on every connection, then queued messages in order,
// receives whole messages, and reconnects with exponential backoff when the connection fails
// or the server closes it. Plain C# (System.Net.WebSockets.ClientWebSocket): no UnityEngine.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.WebSockets;
using System.Threading;
using System.Threading.Tasks;

namespace Motionguard
{
    /// <summary>Where log lines of the plain C# classes go (Unity components pass Debug.Log; tests the console).</summary>
    public interface IMotionguardLog
    {
        void Info(string message);
        void Warning(string message);
        void Error(string message);
    }

    /// <summary>Drops every line.</summary>
    public sealed class SilentMotionguardLog : IMotionguardLog
    {
        public static readonly SilentMotionguardLog Instance = new SilentMotionguardLog();
        public void Info(string message) { }
        public void Warning(string message) { }
        public void Error(string message) { }
    }

    public enum MotionguardConnectionState
    {
        /// <summary>Not started yet.</summary>
        Idle,
        /// <summary>Connecting, or waiting to reconnect.</summary>
        Connecting,
        /// <summary>Connected and the handshake sent: messages go out.</summary>
        Open,
        /// <summary>Stopped for good.</summary>
        Stopped,
    }

    public sealed class MotionguardConnectionOptions
    {
        /// <summary>Wait before the first reconnect; doubles after each failure up to MaxBackoff (plus or minus 20% jitter).</summary>
        public TimeSpan InitialBackoff = TimeSpan.FromSeconds(0.5);
        public TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
        /// <summary>A connection that lived this long resets the backoff (a server that accepts and at once closes does not).</summary>
        public TimeSpan StableAfter = TimeSpan.FromSeconds(5);
        public TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
        /// <summary>How long Stop waits for the close handshake.</summary>
        public TimeSpan CloseTimeout = TimeSpan.FromSeconds(1);
        public TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);
        /// <summary>Messages waiting to be sent; beyond this the oldest are dropped (live data: the newest matters).</summary>
        public int MaxQueuedMessages = 64;
        /// <summary>A bigger incoming message closes the connection.</summary>
        public int MaxReceiveBytes = 16 << 20;
    }

    public sealed class MotionguardConnection : IDisposable
    {
        private readonly MotionguardConnectionOptions options;
        private readonly IMotionguardLog log;
        private readonly string name;
        private readonly object gate = new object();
        private readonly Queue<byte[]> queue = new Queue<byte[]>();
        private readonly SemaphoreSlim signal = new SemaphoreSlim(0);
        private readonly CancellationTokenSource stopping = new CancellationTokenSource();
        private readonly Random jitter = new Random();
        private Task runTask;
        private volatile MotionguardConnectionState state = MotionguardConnectionState.Idle;
        private long messagesSent;
        private long messagesDropped;
        private int connections;

        /// <param name="name">Prefix of log lines, e.g. "motionguard ingest".</param>
        public MotionguardConnection(Uri uri, MotionguardConnectionOptions options = null, IMotionguardLog log = null, string name = "motionguard")
        {
            if (uri == null) throw new ArgumentNullException("uri");
            Uri = uri;
            this.options = options ?? new MotionguardConnectionOptions();
            this.log = log ?? SilentMotionguardLog.Instance;
            this.name = name;
        }

        public Uri Uri { get; private set; }

        public MotionguardConnectionState State { get { return state; } }

        public bool IsOpen { get { return state == MotionguardConnectionState.Open; } }

        /// <summary>Successful connections so far (1 after the first, 2 after a reconnect, ...).</summary>
        public int Connections { get { return Volatile.Read(ref connections); } }

        public long MessagesSent { get { return Interlocked.Read(ref messagesSent); } }

        /// <summary>Messages not sent: offered while not connected, pushed out of a full queue, or queued when a connection ended.</summary>
        public long MessagesDropped { get { return Interlocked.Read(ref messagesDropped); } }

        /// <summary>
        /// Messages sent first on every new connection, before anything queued (called on the
        /// socket thread, once per connection).
        /// </summary>
        public Func<IList<byte[]>> Handshake { get; set; }

        /// <summary>A whole message arrived (binary: true for msgpack). Raised on the socket thread.</summary>
        public event Action<byte[], bool> MessageReceived;

        /// <summary>Connected and the handshake sent. Raised on the socket thread.</summary>
        public event Action Opened;

        /// <summary>An open connection ended (with why); a reconnect follows unless stopped. Socket thread.</summary>
        public event Action<string> Closed;

        /// <summary>Starts connecting in the background; returns at once.</summary>
        public void Start()
        {
            lock (gate)
            {
                if (runTask != null) return;
                state = MotionguardConnectionState.Connecting;
                runTask = Task.Run(() => RunAsync());
            }
        }

        /// <summary>
        /// Queues one message (a whole msgpack value). Returns false and drops it when not
        /// connected: live frames are worth nothing later, and the server fills short gaps itself.
        /// </summary>
        public bool Send(byte[] message)
        {
            if (message == null) throw new ArgumentNullException("message");
            lock (gate)
            {
                if (state != MotionguardConnectionState.Open)
                {
                    messagesDropped++;
                    return false;
                }
                queue.Enqueue(message);
                while (queue.Count > options.MaxQueuedMessages)
                {
                    queue.Dequeue();
                    messagesDropped++;
                }
            }
            signal.Release();
            return true;
        }

        /// <summary>Closes the connection (close handshake, at most CloseTimeout) and stops reconnecting.</summary>
        public Task StopAsync()
        {
            Task task;
            lock (gate)
            {
                if (state == MotionguardConnectionState.Stopped && runTask == null) return Task.FromResult(0);
                state = MotionguardConnectionState.Stopped;
                task = runTask;
            }
            if (!stopping.IsCancellationRequested) stopping.Cancel();
            return task ?? Task.FromResult(0);
        }

        /// <summary>Stops without waiting (safe from Unity's OnDisable / OnApplicationQuit).</summary>
        public void Dispose()
        {
            StopAsync();
        }

        private async Task RunAsync()
        {
            int failures = 0;
            var token = stopping.Token;
            while (!token.IsCancellationRequested)
            {
                var socket = new ClientWebSocket();
                socket.Options.KeepAliveInterval = options.KeepAliveInterval;
                var lived = Stopwatch.StartNew();
                bool opened = false;
                string reason;
                try
                {
                    using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(token))
                    {
                        connectTimeout.CancelAfter(options.ConnectTimeout);
                        try
                        {
                            await socket.ConnectAsync(Uri, connectTimeout.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            if (token.IsCancellationRequested) throw;
                            throw new TimeoutException("no answer within " + options.ConnectTimeout.TotalSeconds + " s");
                        }
                    }
                    lived.Reset();
                    lived.Start();
                    var handshake = Handshake != null ? Handshake() : null;
                    if (handshake != null)
                    {
                        foreach (var message in handshake)
                        {
                            await socket.SendAsync(new ArraySegment<byte>(message), WebSocketMessageType.Binary, true, token).ConfigureAwait(false);
                            Interlocked.Increment(ref messagesSent);
                        }
                    }
                    lock (gate)
                    {
                        if (state == MotionguardConnectionState.Stopped) throw new OperationCanceledException(token);
                        DropQueued();
                        state = MotionguardConnectionState.Open;
                    }
                    opened = true;
                    int count = Interlocked.Increment(ref connections);
                    if (count > 1 || failures > 0) log.Info(name + ": connected to " + Uri + (count > 1 ? " (connection " + count + ")" : ""));
                    Raise(Opened);
                    reason = await RunSessionAsync(socket).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    reason = "stopped";
                }
                catch (Exception error)
                {
                    reason = Describe(error);
                }
                finally
                {
                    lock (gate)
                    {
                        if (state != MotionguardConnectionState.Stopped) state = MotionguardConnectionState.Connecting;
                        DropQueued();
                    }
                    try { socket.Abort(); } catch (Exception) { }
                    socket.Dispose();
                }
                if (token.IsCancellationRequested) break;
                if (opened) RaiseClosed(reason);
                if (opened && lived.Elapsed >= options.StableAfter) failures = 0;
                failures++;
                var delay = Backoff(failures);
                if (opened) log.Warning(name + ": connection to " + Uri + " lost (" + reason + "); reconnecting in " + delay.TotalSeconds.ToString("0.0") + " s");
                else if (failures == 1 || failures % 10 == 0) log.Warning(name + ": cannot connect to " + Uri + " (" + reason + "); retrying in " + delay.TotalSeconds.ToString("0.0") + " s" + (failures > 1 ? " (attempt " + failures + ")" : ""));
                try
                {
                    await Task.Delay(delay, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            lock (gate)
            {
                state = MotionguardConnectionState.Stopped;
                DropQueued();
                runTask = null;
            }
        }

        /// <summary>Sends and receives until either side ends; returns why it ended.</summary>
        private async Task<string> RunSessionAsync(ClientWebSocket socket)
        {
            using (var sessionEnd = new CancellationTokenSource())
            using (var waitToken = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token, sessionEnd.Token))
            {
                var receive = ReceiveLoopAsync(socket, sessionEnd.Token);
                var send = SendLoopAsync(socket, waitToken.Token, sessionEnd.Token);
                var first = await Task.WhenAny(receive, send).ConfigureAwait(false);
                // Our close frame sent (stopping), or a send failed (often: the server's close frame
                // arrived meanwhile): give the receive side a moment to read the server's close and say why.
                if (first == send) await Task.WhenAny(receive, Task.Delay(options.CloseTimeout)).ConfigureAwait(false);
                sessionEnd.Cancel();
                try { await Task.WhenAll(receive, send).ConfigureAwait(false); } catch (Exception) { }
                if (receive.Status == TaskStatus.RanToCompletion) return receive.Result;
                if (send.IsFaulted) return Describe(send.Exception);
                if (receive.IsFaulted) return Describe(receive.Exception);
                return "stopped";
            }
        }

        private async Task SendLoopAsync(ClientWebSocket socket, CancellationToken wait, CancellationToken abort)
        {
            while (true)
            {
                try
                {
                    await signal.WaitAsync(wait).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    if (stopping.IsCancellationRequested && socket.State == WebSocketState.Open)
                    {
                        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(abort))
                        {
                            timeout.CancelAfter(options.CloseTimeout);
                            try
                            {
                                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client stopping", timeout.Token).ConfigureAwait(false);
                            }
                            catch (Exception) { }
                        }
                    }
                    return;
                }
                byte[] message = null;
                lock (gate)
                {
                    if (queue.Count > 0) message = queue.Dequeue();
                }
                if (message == null) continue;
                await socket.SendAsync(new ArraySegment<byte>(message), WebSocketMessageType.Binary, true, abort).ConfigureAwait(false);
                Interlocked.Increment(ref messagesSent);
            }
        }

        private async Task<string> ReceiveLoopAsync(ClientWebSocket socket, CancellationToken abort)
        {
            var chunk = new byte[16 * 1024];
            var message = new MemoryStream();
            while (true)
            {
                var result = await socket.ReceiveAsync(new ArraySegment<byte>(chunk), abort).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    string why = "closed by the server (" + (int)(result.CloseStatus ?? WebSocketCloseStatus.Empty)
                        + (string.IsNullOrEmpty(result.CloseStatusDescription) ? "" : " " + result.CloseStatusDescription) + ")";
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(abort))
                        {
                            timeout.CancelAfter(options.CloseTimeout);
                            try
                            {
                                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token).ConfigureAwait(false);
                            }
                            catch (Exception) { }
                        }
                    }
                    return why;
                }
                if (message.Length + result.Count > options.MaxReceiveBytes)
                {
                    return "a message over " + options.MaxReceiveBytes + " bytes";
                }
                message.Write(chunk, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var bytes = message.ToArray();
                message.SetLength(0);
                var handler = MessageReceived;
                if (handler == null) continue;
                try
                {
                    handler(bytes, result.MessageType == WebSocketMessageType.Binary);
                }
                catch (Exception error)
                {
                    log.Error(name + ": a message handler failed: " + error);
                }
            }
        }

        private TimeSpan Backoff(int failures)
        {
            double seconds = options.InitialBackoff.TotalSeconds * Math.Pow(2, Math.Min(30, failures - 1));
            seconds = Math.Min(seconds, options.MaxBackoff.TotalSeconds);
            seconds *= 0.8 + 0.4 * jitter.NextDouble();
            return TimeSpan.FromSeconds(seconds);
        }

        private void DropQueued()
        {
            messagesDropped += queue.Count;
            queue.Clear();
        }

        private void Raise(Action handler)
        {
            if (handler == null) return;
            try { handler(); }
            catch (Exception error) { log.Error(name + ": an event handler failed: " + error); }
        }

        private void RaiseClosed(string reason)
        {
            var handler = Closed;
            if (handler == null) return;
            try { handler(reason); }
            catch (Exception error) { log.Error(name + ": an event handler failed: " + error); }
        }

        private static string Describe(Exception error)
        {
            var aggregate = error as AggregateException;
            if (aggregate != null && aggregate.InnerExceptions.Count == 1) error = aggregate.InnerExceptions[0];
            string text = error.Message;
            var inner = error.InnerException;
            while (inner != null)
            {
                text += ": " + inner.Message;
                inner = inner.InnerException;
            }
            return text;
        }
    }
}
