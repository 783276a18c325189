using Motionguard;
using UnityEngine;

namespace Motionguard.Samples
{
    /// <summary>
    /// Quickstart: put this on any GameObject in a scene with humanoid characters and press Play.
    /// Every humanoid Animator gets a MotionguardStreamer (avatar id = prefix + its name), all
    /// sharing one connection; this GameObject gets a MotionguardAlerts subscribed to the same
    /// prefix, and each alert is logged (see AlertOverlay for an on-screen list).
    /// </summary>
    public sealed class StreamAllHumanoids : MonoBehaviour
    {
        [Tooltip("The motionguard server (npm start serves ws://127.0.0.1:8080).")]
        [SerializeField] private string serverUrl = "ws://127.0.0.1:8080";

        [Tooltip("Avatar ids are this prefix plus the GameObject's name; alerts are subscribed by it.")]
        [SerializeField] private string avatarPrefix = "demo/";

        private void Start()
        {
            int streaming = 0;
            foreach (var animator in FindObjectsOfType<Animator>())
            {
                if (!animator.isHuman || animator.GetComponent<MotionguardStreamer>() != null) continue;
                var streamer = animator.gameObject.AddComponent<MotionguardStreamer>();
                streamer.AvatarId = avatarPrefix + animator.name;
                streamer.ServerUrl = serverUrl;
                streaming++;
            }
            Debug.Log("motionguard sample: streaming " + streaming + " humanoid(s) to " + serverUrl);

            var alerts = GetComponent<MotionguardAlerts>();
            if (alerts == null) alerts = gameObject.AddComponent<MotionguardAlerts>();
            alerts.ServerUrl = serverUrl;
            alerts.Subscribe(null, avatarPrefix, false);
            alerts.onAlertStart.AddListener(OnAlertStart);
            alerts.onAlertEnd.AddListener(alert => Debug.Log("motionguard sample: " + alert.Avatar + " moves normally again (" + alert.Cause + ")"));
        }

        private void OnAlertStart(MotionguardAlert alert)
        {
            // The UnityEvents run on the main thread: touching scene objects here is safe.
            string joints = alert.TopJoints.Length > 0 ? alert.TopJoints[0].Joint : "?";
            Debug.LogWarning("motionguard sample: anomalous motion on " + alert.Avatar + ", look at its " + joints);
        }
    }
}
