using System;
using System.Collections.Generic;
using UnityEngine;
using UnityEngine.Events;

namespace Motionguard
{
    [Serializable]
    public sealed class MotionguardAlertEvent : UnityEvent<MotionguardAlert> { }

    /// <summary>
    /// Receives motionguard alerts: subscribes to the server's /v1/alerts (all avatars, a list,
    /// or an id prefix), and raises UnityEvents and C# events on the main thread (in Update) for
    /// each alert start and end. Reconnects and re-subscribes by itself.
    /// </summary>
    [AddComponentMenu("Motionguard/Motionguard Alerts")]
    public sealed class MotionguardAlerts : MonoBehaviour
    {
        [Header("Server")]
        [Tooltip("The motionguard server: ws://host:port (the /v1/alerts path is added).")]
        [SerializeField] private string serverUrl = "ws://127.0.0.1:8080";

        [Header("Subscription (both empty: every avatar)")]
        [Tooltip("These avatar ids.")]
        [SerializeField] private string[] avatars = new string[0];

        [Tooltip("Avatars whose id starts with this, e.g. room7/.")]
        [SerializeField] private string prefix = "";

        [Tooltip("Also receive every avatar's scores each server tick (ScoresReceived).")]
        [SerializeField] private bool receiveScores;

        [Tooltip("Log each alert to the console.")]
        [SerializeField] private bool logAlerts = true;

        [Header("Events (main thread)")]
        public MotionguardAlertEvent onAlert = new MotionguardAlertEvent();
        public MotionguardAlertEvent onAlertStart = new MotionguardAlertEvent();
        public MotionguardAlertEvent onAlertEnd = new MotionguardAlertEvent();

        private MotionguardSubscriber subscriber;
        private readonly Dictionary<string, MotionguardAlert> active = new Dictionary<string, MotionguardAlert>();

        /// <summary>Every alert, start or end (main thread).</summary>
        public event Action<MotionguardAlert> AlertReceived;
        /// <summary>Per-tick scores, when <see cref="ReceiveScores"/> is on (main thread).</summary>
        public event Action<MotionguardScores> ScoresReceived;
        /// <summary>The server confirmed the subscription (after each (re)connect; main thread).</summary>
        public event Action<MotionguardSubscribed> Subscribed;
        public event Action<MotionguardError> ErrorReceived;
        public event Action<bool> ConnectionChanged;

        public string ServerUrl
        {
            get { return serverUrl; }
            set { serverUrl = value; Restart(); }
        }

        public bool ReceiveScores { get { return receiveScores; } }
        public string Prefix { get { return prefix; } }
        public string[] Avatars { get { return (string[])avatars.Clone(); } }

        public bool LogAlerts
        {
            get { return logAlerts; }
            set { logAlerts = value; }
        }

        /// <summary>The connection behind this component while enabled.</summary>
        public MotionguardSubscriber Subscriber { get { return subscriber; } }

        public bool IsSubscribed { get { return subscriber != null && subscriber.IsSubscribed; } }

        /// <summary>
        /// Avatars with an open episode (a start and no end yet), with their start alert. Cleared
        /// when the connection is lost: an end that came during the gap would be missed.
        /// </summary>
        public IDictionary<string, MotionguardAlert> ActiveAlerts { get { return active; } }

        /// <summary>Changes the subscription (now, and for every reconnect). Both empty: every avatar.</summary>
        public void Subscribe(string[] avatarIds, string idPrefix, bool scores)
        {
            avatars = avatarIds ?? new string[0];
            prefix = idPrefix ?? "";
            receiveScores = scores;
            if (subscriber != null) subscriber.Subscribe(CurrentSubscription());
        }

        private MotionguardSubscription CurrentSubscription()
        {
            return new MotionguardSubscription(avatars, prefix, receiveScores);
        }

        private void OnEnable()
        {
            try
            {
                subscriber = new MotionguardSubscriber(serverUrl, CurrentSubscription(), UnityMotionguardLog.Instance);
            }
            catch (ArgumentException error)
            {
                Debug.LogError("motionguard alerts: " + error.Message, this);
                return;
            }
            subscriber.AlertReceived += OnAlert;
            subscriber.ScoresReceived += OnScores;
            subscriber.Subscribed += OnSubscribed;
            subscriber.ErrorReceived += OnError;
            subscriber.ConnectionChanged += OnConnectionChanged;
        }

        private void OnDisable()
        {
            if (subscriber == null) return;
            subscriber.Dispose();
            subscriber = null;
            active.Clear();
        }

        private void Update()
        {
            if (subscriber != null) subscriber.Poll();
        }

        private void Restart()
        {
            if (!isActiveAndEnabled) return;
            OnDisable();
            OnEnable();
        }

        private void OnAlert(MotionguardAlert alert)
        {
            if (alert.IsStart) active[alert.Avatar] = alert;
            else active.Remove(alert.Avatar);
            if (logAlerts)
            {
                if (alert.IsStart) Debug.LogWarning(alert.ToString(), this);
                else Debug.Log(alert.ToString(), this);
            }
            RaiseAlert(AlertReceived, alert);
            RaiseAlert(onAlert, alert);
            RaiseAlert(alert.IsStart ? onAlertStart : onAlertEnd, alert);
        }

        private void OnScores(MotionguardScores scores)
        {
            var handler = ScoresReceived;
            if (handler == null) return;
            try { handler(scores); }
            catch (Exception error) { Debug.LogException(error, this); }
        }

        private void OnSubscribed(MotionguardSubscribed confirmed)
        {
            if (logAlerts) Debug.Log("motionguard alerts: subscribed to " + CurrentSubscription() + " on " + subscriber.Connection.Uri, this);
            var handler = Subscribed;
            if (handler == null) return;
            try { handler(confirmed); }
            catch (Exception error) { Debug.LogException(error, this); }
        }

        private void OnError(MotionguardError error)
        {
            var handler = ErrorReceived;
            if (handler == null) return;
            try { handler(error); }
            catch (Exception failure) { Debug.LogException(failure, this); }
        }

        private void OnConnectionChanged(bool open)
        {
            if (!open) active.Clear();
            var handler = ConnectionChanged;
            if (handler == null) return;
            try { handler(open); }
            catch (Exception error) { Debug.LogException(error, this); }
        }

        private void RaiseAlert(Action<MotionguardAlert> handler, MotionguardAlert alert)
        {
            if (handler == null) return;
            try { handler(alert); }
            catch (Exception error) { Debug.LogException(error, this); }
        }

        private void RaiseAlert(UnityEvent<MotionguardAlert> unityEvent, MotionguardAlert alert)
        {
            if (unityEvent == null) return;
            try { unityEvent.Invoke(alert); }
            catch (Exception error) { Debug.LogException(error, this); }
        }
    }
}
