// An alerts subscriber: one /v1/alerts connection that (re)subscribes on every connection and
// queues what arrives; Poll raises the events on the caller's thread (Unity: the main
// thread, from MotionguardAlerts.Update). Plain C#.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace Motionguard
{
    /// <summary>Which avatars to hear about: all (no avatars, no prefix), a list, a prefix, or either of both.</summary>
    public sealed class MotionguardSubscription
    {
        public MotionguardSubscription(IList<string> avatars = null, string prefix = null, bool scores = false)
        {
            Avatars = avatars == null ? new string[0] : new List<string>(avatars).ToArray();
            Prefix = string.IsNullOrEmpty(prefix) ? null : prefix;
            Scores = scores;
        }

        public static MotionguardSubscription All(bool scores = false) { return new MotionguardSubscription(null, null, scores); }

        public string[] Avatars { get; private set; }
        public string Prefix { get; private set; }
        /// <summary>Also receive per-tick scores.</summary>
        public bool Scores { get; private set; }

        internal byte[] Encode() { return MotionguardProtocol.EncodeSubscribe(Avatars, Prefix, Scores); }

        public override string ToString()
        {
            if (Avatars.Length == 0 && Prefix == null) return "all avatars";
            var parts = new List<string>();
            if (Avatars.Length > 0) parts.Add(Avatars.Length + " avatar(s)");
            if (Prefix != null) parts.Add("prefix '" + Prefix + "'");
            return string.Join(" or ", parts.ToArray());
        }
    }

    public sealed class MotionguardSubscriber : IDisposable
    {
        private const int MaxQueuedScores = 256;
        private readonly MotionguardConnection connection;
        private readonly IMotionguardLog log;
        private readonly ConcurrentQueue<object> inbox = new ConcurrentQueue<object>();
        private readonly object gate = new object();
        private MotionguardSubscription subscription;
        private volatile MotionguardSubscribed subscribed;
        private int subscribedConnection;
        private int queuedScores;
        private long alertsReceived, scoresDropped;

        private sealed class ConnectionEvent
        {
            public bool Open;
            public string Reason;
        }

        /// <param name="serverUrl">"ws://host:8080" (the alerts path is added), or a full ws:// URL.</param>
        public MotionguardSubscriber(string serverUrl, MotionguardSubscription subscription = null, IMotionguardLog log = null, MotionguardConnectionOptions options = null)
        {
            this.subscription = subscription ?? MotionguardSubscription.All();
            this.log = log ?? SilentMotionguardLog.Instance;
            connection = new MotionguardConnection(MotionguardProtocol.BuildUri(serverUrl, MotionguardProtocol.AlertsPath), options, this.log, "motionguard alerts");
            connection.Handshake = () =>
            {
                lock (gate) return new[] { this.subscription.Encode() };
            };
            connection.MessageReceived += OnMessage;
            connection.Opened += () => inbox.Enqueue(new ConnectionEvent { Open = true });
            connection.Closed += reason => inbox.Enqueue(new ConnectionEvent { Open = false, Reason = reason });
            connection.Start();
        }

        public MotionguardConnection Connection { get { return connection; } }

        public MotionguardSubscription Subscription
        {
            get { lock (gate) return subscription; }
        }

        /// <summary>Connected and this connection's subscribe confirmed.</summary>
        public bool IsSubscribed { get { return connection.IsOpen && Volatile.Read(ref subscribedConnection) == connection.Connections; } }

        /// <summary>The latest confirmation (fps, joint names, thresholds); null before the first.</summary>
        public MotionguardSubscribed LastSubscribed { get { return subscribed; } }

        public long AlertsReceived { get { return Interlocked.Read(ref alertsReceived); } }

        /// <summary>Scores messages skipped because Poll was not keeping up.</summary>
        public long ScoresDropped { get { return Interlocked.Read(ref scoresDropped); } }

        public event Action<MotionguardAlert> AlertReceived;
        public event Action<MotionguardScores> ScoresReceived;
        public event Action<MotionguardSubscribed> Subscribed;
        public event Action<MotionguardError> ErrorReceived;
        /// <summary>Connected (true) or lost (false).</summary>
        public event Action<bool> ConnectionChanged;

        /// <summary>Replaces the subscription now (when connected) and for every reconnect.</summary>
        public void Subscribe(MotionguardSubscription next)
        {
            if (next == null) throw new ArgumentNullException("next");
            byte[] message;
            lock (gate)
            {
                subscription = next;
                message = next.Encode();
            }
            connection.Send(message);
        }

        /// <summary>Raises the events that arrived since the last call, in order, on this thread. Returns how many.</summary>
        public int Poll()
        {
            int n = 0;
            object item;
            while (inbox.TryDequeue(out item))
            {
                n++;
                var change = item as ConnectionEvent;
                if (change != null)
                {
                    var handler = ConnectionChanged;
                    if (handler != null) Guard(() => handler(change.Open));
                    continue;
                }
                var alert = item as MotionguardAlert;
                if (alert != null)
                {
                    var handler = AlertReceived;
                    if (handler != null) Guard(() => handler(alert));
                    continue;
                }
                var scores = item as MotionguardScores;
                if (scores != null)
                {
                    Interlocked.Decrement(ref queuedScores);
                    var handler = ScoresReceived;
                    if (handler != null) Guard(() => handler(scores));
                    continue;
                }
                var confirmed = item as MotionguardSubscribed;
                if (confirmed != null)
                {
                    var handler = Subscribed;
                    if (handler != null) Guard(() => handler(confirmed));
                    continue;
                }
                var error = item as MotionguardError;
                if (error != null)
                {
                    log.Warning("motionguard alerts: the server refused: " + error);
                    var handler = ErrorReceived;
                    if (handler != null) Guard(() => handler(error));
                }
            }
            return n;
        }

        public void Dispose()
        {
            connection.Dispose();
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
                log.Warning("motionguard alerts: an unreadable message from the server: " + error.Message);
                return;
            }
            if (message == null) return;
            if (message is MotionguardAlert)
            {
                Interlocked.Increment(ref alertsReceived);
            }
            else if (message is MotionguardScores)
            {
                if (Interlocked.Increment(ref queuedScores) > MaxQueuedScores)
                {
                    Interlocked.Decrement(ref queuedScores);
                    Interlocked.Increment(ref scoresDropped);
                    return;
                }
            }
            else if (message is MotionguardSubscribed)
            {
                subscribed = (MotionguardSubscribed)message;
                Volatile.Write(ref subscribedConnection, connection.Connections);
            }
            else if (!(message is MotionguardError))
            {
                return;
            }
            inbox.Enqueue(message);
        }

        private void Guard(Action action)
        {
            try { action(); }
            catch (Exception error) { log.Error("motionguard: an event handler failed: " + error); }
        }
    }
}
