using System.Collections.Generic;
using Motionguard;
using UnityEngine;

namespace Motionguard.Samples
{
    /// <summary>
    /// Shows motionguard alerts on screen: the avatars alerting now (with the joints to blame)
    /// and the last few alerts. Needs a MotionguardAlerts (on this GameObject, or assigned).
    /// </summary>
    public sealed class AlertOverlay : MonoBehaviour
    {
        [SerializeField] private MotionguardAlerts alerts;
        [SerializeField] private int history = 8;

        private readonly List<string> recent = new List<string>();

        private void OnEnable()
        {
            if (alerts == null) alerts = GetComponent<MotionguardAlerts>();
            if (alerts != null) alerts.AlertReceived += OnAlert;
        }

        private void OnDisable()
        {
            if (alerts != null) alerts.AlertReceived -= OnAlert;
        }

        private void OnAlert(MotionguardAlert alert)
        {
            recent.Insert(0, alert.TimeUtc.ToLocalTime().ToString("HH:mm:ss") + "  " + alert.StateName + "  " + alert.Avatar + "  " + alert.Reason + (alert.Cause != null ? " / " + alert.Cause : ""));
            if (recent.Count > history) recent.RemoveAt(recent.Count - 1);
        }

        private void OnGUI()
        {
            GUILayout.BeginArea(new Rect(10, 10, 520, 400));
            if (alerts == null)
            {
                GUILayout.Label("AlertOverlay: no MotionguardAlerts");
                GUILayout.EndArea();
                return;
            }
            GUILayout.Label(alerts.IsSubscribed ? "motionguard: subscribed" : "motionguard: connecting to " + alerts.ServerUrl + " ...");
            GUI.contentColor = Color.red;
            foreach (var pair in alerts.ActiveAlerts)
            {
                GUILayout.Label("ALERT  " + pair.Key + "  (" + string.Join(", ", System.Array.ConvertAll(pair.Value.TopJoints, j => j.Joint)) + ")");
            }
            GUI.contentColor = Color.white;
            foreach (var line in recent) GUILayout.Label(line);
            GUILayout.EndArea();
        }
    }
}
