using System;
using UnityEngine;

namespace Motionguard
{
    /// <summary>Sends the plain classes' log lines to the Unity console (Debug.Log is thread-safe).</summary>
    public sealed class UnityMotionguardLog : IMotionguardLog
    {
        public static readonly UnityMotionguardLog Instance = new UnityMotionguardLog();
        public void Info(string message) { Debug.Log(message); }
        public void Warning(string message) { Debug.LogWarning(message); }
        public void Error(string message) { Debug.LogError(message); }
    }

    /// <summary>
    /// Streams one humanoid avatar's pose to a motionguard server at a fixed rate. Every
    /// streamer with the same server and send rate shares one connection, and all their poses
    /// of one tick travel in one <c>frames</c> message. Put it on the avatar (next to its
    /// Animator, or point <see cref="Animator"/> at it).
    /// </summary>
    [AddComponentMenu("Motionguard/Motionguard Streamer")]
    [DisallowMultipleComponent]
    // After user scripts' LateUpdate (IK, retargeting), so the pose sent is the pose shown.
    [DefaultExecutionOrder(10000)]
    public sealed class MotionguardStreamer : MonoBehaviour, IMotionguardPoseSource
    {
        [Header("Server")]
        [Tooltip("The motionguard server: ws://host:port (the /v1/ingest path is added).")]
        [SerializeField] private string serverUrl = "ws://127.0.0.1:8080";

        [Tooltip("Poses per second (independent of the frame rate). Streamers with the same server and rate share one connection.")]
        [SerializeField] private float sendRate = 30;

        [Header("Avatar")]
        [Tooltip("Unique id of this avatar on the server, e.g. room7/alice. Empty: the GameObject's name.")]
        [SerializeField] private string avatarId = "";

        [Tooltip("The humanoid Animator to read. Empty: the one on this GameObject.")]
        [SerializeField] private Animator animator;

        [Tooltip("Metres per Unity unit (1 unless your world is scaled).")]
        [SerializeField] private float metresPerUnit = 1;

        private MotionguardPublisher publisher;
        private MotionguardSkeleton skeleton;
        private long framesSampled;

        /// <summary>The server refused one of this avatar's frames (main thread).</summary>
        public event Action<MotionguardError> ErrorReceived;

        public string ServerUrl
        {
            get { return serverUrl; }
            set { serverUrl = value; Reconnect(); }
        }

        public float SendRate
        {
            get { return sendRate; }
            set { sendRate = value; Reconnect(); }
        }

        /// <summary>The id frames are sent under (the GameObject's name when none is set).</summary>
        public string AvatarId
        {
            get { return string.IsNullOrEmpty(avatarId) ? name : avatarId; }
            set { avatarId = value; }
        }

        public Animator Animator
        {
            get { return animator; }
            set { animator = value; RefreshBones(); }
        }

        public float MetresPerUnit
        {
            get { return metresPerUnit; }
            set { metresPerUnit = value; }
        }

        /// <summary>The shared publisher while enabled (connection state, counters, ready, events).</summary>
        public MotionguardPublisher Publisher { get { return publisher; } }

        /// <summary>Canonical joints this rig lacks and that are computed from the others.</summary>
        public string[] FallbackJoints { get { return skeleton != null ? skeleton.FallbackJoints : new string[0]; } }

        /// <summary>Poses read and handed to the publisher (sent, or dropped while disconnected).</summary>
        public long FramesSampled { get { return framesSampled; } }

        /// <summary>Reads the Animator's bones again (after changing its Avatar or rig at runtime).</summary>
        public void RefreshBones()
        {
            ResolveBones();
            if (isActiveAndEnabled && publisher == null) Attach();
        }

        private void ResolveBones()
        {
            if (animator == null) animator = GetComponent<Animator>();
            string problem;
            skeleton = MotionguardSkeleton.FromAnimator(animator, out problem);
            if (skeleton == null)
            {
                Debug.LogError("motionguard: '" + name + "' cannot stream: " + problem + ".", this);
                return;
            }
            if (skeleton.FallbackJoints.Length > 0)
            {
                Debug.Log("motionguard: '" + AvatarId + "' has no " + string.Join(", ", skeleton.FallbackJoints) + " bone; computed from the neighbouring joints.", this);
            }
        }

        bool IMotionguardPoseSource.TryWritePose(float[] destination, int offset)
        {
            if (skeleton == null || !isActiveAndEnabled) return false;
            if (!skeleton.WritePose(destination, offset, metresPerUnit)) return false;
            framesSampled++;
            return true;
        }

        private void OnEnable()
        {
            ResolveBones();
            Attach();
        }

        private void Attach()
        {
            if (skeleton == null) return;
            string bad = MotionguardProtocol.CheckAvatarId(AvatarId);
            if (bad != null)
            {
                Debug.LogError("motionguard: '" + name + "' cannot stream: " + bad + ".", this);
                return;
            }
            try
            {
                publisher = MotionguardPublisher.Acquire(serverUrl, sendRate, UnityMotionguardLog.Instance);
            }
            catch (ArgumentException error)
            {
                Debug.LogError("motionguard: '" + name + "' cannot stream: " + error.Message, this);
                return;
            }
            publisher.AddSource(this);
            publisher.ErrorReceived += OnError;
        }

        private void OnDisable()
        {
            if (publisher == null) return;
            publisher.ErrorReceived -= OnError;
            publisher.RemoveSource(this);
            publisher.Release();
            publisher = null;
        }

        private void LateUpdate()
        {
            if (publisher != null) publisher.Pump(Time.unscaledTimeAsDouble);
        }

        private void OnError(MotionguardError error)
        {
            if (error.Avatar != AvatarId) return;
            var handler = ErrorReceived;
            if (handler != null) handler(error);
        }

        private void Reconnect()
        {
            if (!isActiveAndEnabled) return;
            OnDisable();
            OnEnable();
        }

        // Play mode without a domain reload keeps statics: close what the last session left.
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        private static void ResetStatics()
        {
            MotionguardPublisher.ResetShared();
        }
    }
}
