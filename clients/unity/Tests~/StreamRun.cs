// Integration harness: humanoid rigs in the UnityEngine stand-in, posed from a motion file
// frame by frame, streamed by MotionguardStreamer to a real server while MotionguardAlerts
// listens. The harness is the game loop: it calls the player loop at 60 rendered frames per
// second of its own clock, never faster than real time, and (in stream mode) pauses that
// clock while the server's scores lag more than --lag frames behind, so a slow machine makes
// the run slower, never different. Every event is one JSON line on stdout.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Motionguard;
using UnityEngine;
using Debug = UnityEngine.Debug;

namespace MotionguardTests
{
    public static class StreamRun
    {
        private static readonly object OutputLock = new object();

        private static void Emit(string json)
        {
            lock (OutputLock)
            {
                Console.Out.WriteLine(json);
                Console.Out.Flush();
            }
        }

        private sealed class MotionAvatar
        {
            public string Id;
            public float[] Positions;
            public string[] Without = new string[0];
            public Animator Rig;
            public MotionguardStreamer Streamer;
        }

        private sealed class Motion
        {
            public double Fps;
            public int Frames;
            public List<MotionAvatar> Avatars = new List<MotionAvatar>();

            /// <summary>A msgpack map {fps, frames, avatars: [{id, positions: bin of float32 LE, protocol axes, frames x 63, without?: [joint]}]}.</summary>
            public static Motion Load(string path)
            {
                var map = (IDictionary<string, object>)MsgPackReader.Decode(File.ReadAllBytes(path));
                var motion = new Motion { Fps = MsgPackValue.GetDouble(map, "fps"), Frames = (int)MsgPackValue.GetLong(map, "frames") };
                foreach (IDictionary<string, object> entry in MsgPackValue.GetList(map, "avatars"))
                {
                    var bytes = (byte[])entry["positions"];
                    if (bytes.Length != motion.Frames * MotionguardProtocol.ValuesPerFrame * 4) throw new InvalidDataException("avatar positions hold " + bytes.Length + " bytes");
                    var positions = new float[bytes.Length / 4];
                    for (int i = 0; i < positions.Length; i++)
                    {
                        uint u = (uint)(bytes[i * 4] | bytes[i * 4 + 1] << 8 | bytes[i * 4 + 2] << 16 | bytes[i * 4 + 3] << 24);
                        positions[i] = new FloatBits { UInt = u }.Float;
                    }
                    var without = MsgPackValue.GetList(entry, "without");
                    motion.Avatars.Add(new MotionAvatar
                    {
                        Id = (string)entry["id"],
                        Positions = positions,
                        Without = without == null ? new string[0] : without.Cast<string>().ToArray(),
                    });
                }
                return motion;
            }
        }

        public static int Run(Options options, bool loop)
        {
            string url = options.Get("url");
            var motion = Motion.Load(options.Get("motion"));
            double lag = options.GetDouble("lag", 30);
            double timeoutSeconds = options.GetDouble("timeout", 500);
            double stallSeconds = options.GetDouble("stall", 120);
            string prefix = options.Get("prefix", "unity/");
            int mainThread = Thread.CurrentThread.ManagedThreadId;
            var total = Stopwatch.StartNew();

            Debug.Sink = (level, message) =>
            {
                Console.Error.WriteLine("[unity " + level + "] " + message);
                if (level != "info") Emit(Json.Obj("event", "log", "level", level, "message", message));
            };
            UnityStandIn.PlayerLoop.Boot();

            // ---- the alerts component, configured before it is enabled (as in the inspector)
            int offThread = 0, unityEvents = 0, csharpEvents = 0, starts = 0, ends = 0, scoresMessages = 0, subscribedCount = 0, scoresReported = 0;
            var lastScored = new Dictionary<string, long>();
            Action onMain = () => { if (Thread.CurrentThread.ManagedThreadId != mainThread) offThread++; };
            var alertsObject = new GameObject("Motionguard Alerts");
            alertsObject.SetActive(false);
            var alerts = alertsObject.AddComponent<MotionguardAlerts>();
            alerts.ServerUrl = url;
            alerts.Subscribe(null, prefix, true);
            alerts.onAlert.AddListener(alert =>
            {
                onMain();
                unityEvents++;
                Emit(Json.Obj("event", "alert", "avatar", alert.Avatar, "state", alert.StateName, "seq", alert.Seq, "episode", alert.Episode,
                    "reason", alert.Reason, "cause", alert.Cause, "frameScore", alert.FrameScore, "fraction", alert.Fraction,
                    "topJoints", alert.TopJoints.Select(j => j.Joint).ToArray(), "time", alert.Time));
            });
            alerts.onAlertStart.AddListener(alert => starts++);
            alerts.onAlertEnd.AddListener(alert => ends++);
            alerts.AlertReceived += alert => { onMain(); csharpEvents++; };
            alerts.ScoresReceived += scores =>
            {
                onMain();
                scoresMessages++;
                if (scoresReported < subscribedCount && scores.Avatars.Length > 0)
                {
                    // The first scores on each (re)subscription: proof that it delivers.
                    scoresReported = subscribedCount;
                    Emit(Json.Obj("event", "scores", "subscription", subscribedCount, "avatars", scores.Avatars.Select(a => a.Avatar).ToArray()));
                }
                foreach (var a in scores.Avatars)
                {
                    long seen;
                    if (!lastScored.TryGetValue(a.Avatar, out seen) || a.Seq > seen) lastScored[a.Avatar] = a.Seq;
                }
            };
            alerts.Subscribed += s =>
            {
                onMain();
                subscribedCount++;
                Emit(Json.Obj("event", "subscribed", "prefix", s.Prefix, "scores", s.Scores, "fps", s.Fps));
            };
            alerts.ErrorReceived += e => { onMain(); Emit(Json.Obj("event", "error", "source", "alerts", "code", e.Code, "message", e.Message)); };
            alerts.ConnectionChanged += open => { onMain(); Emit(Json.Obj("event", "connection", "source", "alerts", "open", open)); };
            alertsObject.SetActive(true);

            // ---- one humanoid rig and streamer per avatar
            foreach (var avatar in motion.Avatars)
            {
                var root = new GameObject(avatar.Id.Replace('/', '_'));
                root.SetActive(false);
                var animator = root.AddComponent<Animator>();
                animator.isHuman = true;
                for (int j = 0; j < MotionguardProtocol.JointCount; j++)
                {
                    var bone = MotionguardSkeleton.CanonicalBones[j];
                    if (avatar.Without.Contains(bone.ToString())) continue;
                    animator.SetBoneTransform(bone, new GameObject(bone.ToString()).transform);
                }
                avatar.Rig = animator;
                Pose(avatar, 0);
                var streamer = root.AddComponent<MotionguardStreamer>();
                streamer.ServerUrl = url;
                streamer.AvatarId = avatar.Id;
                avatar.Streamer = streamer;
                var id = avatar.Id;
                streamer.ErrorReceived += e => { onMain(); Emit(Json.Obj("event", "error", "source", "ingest", "avatar", id, "code", e.Code, "message", e.Message)); };
                root.SetActive(true);
            }
            var publisher = motion.Avatars[0].Streamer.Publisher;
            bool shared = motion.Avatars.All(a => ReferenceEquals(a.Streamer.Publisher, publisher));
            publisher.Ready += r => { onMain(); Emit(Json.Obj("event", "ready", "fps", r.Fps, "joints", r.Joints, "frameThreshold", r.Thresholds.Frame)); };
            publisher.ConnectionChanged += open => { onMain(); Emit(Json.Obj("event", "connection", "source", "ingest", "open", open)); };
            publisher.ErrorReceived += e => { if (e.Avatar == null) Emit(Json.Obj("event", "error", "source", "ingest", "code", e.Code, "message", e.Message)); };

            bool quit = false;
            if (loop)
            {
                var reader = new Thread(() =>
                {
                    string line;
                    while ((line = Console.In.ReadLine()) != null && line.Trim() != "quit") { }
                    Volatile.Write(ref quit, true);
                }) { IsBackground = true };
                reader.Start();
            }

            // ---- wait for both connections before the first frame (no frame is lost to connecting)
            var wait = Stopwatch.StartNew();
            while (!(publisher.IsReady && alerts.IsSubscribed))
            {
                if (wait.Elapsed.TotalSeconds > stallSeconds) return Fail("no ready/subscribed from " + url + " within " + stallSeconds + " s");
                Thread.Sleep(20);
            }

            // ---- the game loop: 60 rendered frames per second of game time, a pose every second frame
            const double RenderFps = 60;
            int framesPerPose = (int)Math.Round(RenderFps / motion.Fps);
            long n = 0;
            var frameClock = Stopwatch.StartNew();
            var progress = Stopwatch.StartNew();
            long lastProgressTick = -1;
            while (true)
            {
                if (total.Elapsed.TotalSeconds > timeoutSeconds) return Fail("timed out after " + timeoutSeconds + " s");
                long tick = n / framesPerPose;
                if (loop ? Volatile.Read(ref quit) : tick >= motion.Frames) break;
                if (n % framesPerPose == 0)
                {
                    if (!loop)
                    {
                        // Never more than `lag` frames ahead of what the server has scored.
                        var stalled = Stopwatch.StartNew();
                        while (MinScored(motion, lastScored) < tick - lag)
                        {
                            if (stalled.Elapsed.TotalSeconds > stallSeconds) return Fail("the server scored nothing new for " + stallSeconds + " s (at tick " + tick + ", scored " + MinScored(motion, lastScored) + ")");
                            UnityStandIn.PlayerLoop.Frame(0); // the game keeps polling; its clock stands still
                            Thread.Sleep(5);
                        }
                    }
                    foreach (var avatar in motion.Avatars) Pose(avatar, (int)(tick % motion.Frames));
                }
                // Real time at most: one rendered frame per 1/60 s.
                double due = 1.0 / RenderFps - frameClock.Elapsed.TotalSeconds;
                if (n > 0 && due > 0) Thread.Sleep(TimeSpan.FromSeconds(due));
                frameClock.Restart();
                UnityStandIn.PlayerLoop.Frame(n == 0 ? 0 : 1.0 / RenderFps);
                n++;
                if (tick % 150 == 0 && tick != lastProgressTick)
                {
                    lastProgressTick = tick;
                    Emit(Json.Obj("event", "progress", "tick", tick, "scored", MinScored(motion, lastScored), "seconds", progress.Elapsed.TotalSeconds));
                }
            }

            // ---- let the server score the last frames, and deliver what follows
            if (!loop)
            {
                long last = motion.Frames - 1;
                var stalled = Stopwatch.StartNew();
                while (MinScored(motion, lastScored) < last)
                {
                    if (stalled.Elapsed.TotalSeconds > stallSeconds) return Fail("the last frames were never scored (scored " + MinScored(motion, lastScored) + " of " + last + ")");
                    UnityStandIn.PlayerLoop.Frame(0);
                    Thread.Sleep(10);
                }
            }
            var linger = Stopwatch.StartNew();
            while (linger.Elapsed.TotalSeconds < 1.5)
            {
                UnityStandIn.PlayerLoop.Frame(0);
                Thread.Sleep(10);
            }

            Emit(Json.Obj(
                "event", "summary",
                "avatars", motion.Avatars.Select(a => a.Id).ToArray(),
                "sharedPublisher", shared,
                "ticksSent", publisher.TicksSent,
                "framesSent", publisher.FramesSent,
                "framesDropped", publisher.FramesDropped,
                "lastSeq", publisher.LastSeq,
                "ingestMessagesSent", publisher.Connection.MessagesSent,
                "ingestMessagesDropped", publisher.Connection.MessagesDropped,
                "ingestConnections", publisher.Connection.Connections,
                "alertsConnections", alerts.Subscriber.Connection.Connections,
                "subscribed", subscribedCount,
                "errorsReceived", publisher.ErrorsReceived,
                "alertUnityEvents", unityEvents,
                "alertCsharpEvents", csharpEvents,
                "alertsReceivedOnSocket", alerts.Subscriber.AlertsReceived,
                "starts", starts,
                "ends", ends,
                "scoresMessages", scoresMessages,
                "offMainThread", offThread,
                "fallbackJoints", new Json.Raw(Json.Obj(motion.Avatars.SelectMany(a => new object[] { a.Id, a.Streamer.FallbackJoints }).ToArray())),
                "seconds", total.Elapsed.TotalSeconds));

            foreach (var avatar in motion.Avatars) UnityEngine.Object.Destroy(avatar.Rig.gameObject);
            UnityEngine.Object.Destroy(alertsObject);
            Thread.Sleep(300); // the close handshakes run in the background
            return 0;
        }

        private static long MinScored(Motion motion, Dictionary<string, long> lastScored)
        {
            long min = long.MaxValue;
            foreach (var avatar in motion.Avatars)
            {
                long seq;
                min = Math.Min(min, lastScored.TryGetValue(avatar.Id, out seq) ? seq : -1);
            }
            return min;
        }

        /// <summary>Poses the rig as motion frame <paramref name="frame"/>: the file holds protocol axes, Unity has Z negated.</summary>
        private static void Pose(MotionAvatar avatar, int frame)
        {
            int offset = frame * MotionguardProtocol.ValuesPerFrame;
            for (int j = 0; j < MotionguardProtocol.JointCount; j++)
            {
                var bone = avatar.Rig.GetBoneTransform(MotionguardSkeleton.CanonicalBones[j]);
                if (bone == null) continue;
                var p = avatar.Positions;
                bone.position = MotionguardAxes.ProtocolToUnity(new Vector3(p[offset + j * 3], p[offset + j * 3 + 1], p[offset + j * 3 + 2]));
            }
        }

        private static int Fail(string why)
        {
            Emit(Json.Obj("event", "failed", "message", why));
            Console.Error.WriteLine("FAILED: " + why);
            return 3;
        }
    }
}
