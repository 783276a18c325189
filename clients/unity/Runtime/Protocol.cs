// Protocol v1 of the motionguard server (docs/protocol.md in the server repository): the
// messages this client sends, encoded with MsgPack.cs, and the server's replies, decoded
// into plain classes. No UnityEngine dependency.
using System;
using System.Collections.Generic;

namespace Motionguard
{
    public static class MotionguardProtocol
    {
        public const int Version = 1;
        public const string IngestPath = "/v1/ingest";
        public const string AlertsPath = "/v1/alerts";

        /// <summary>The 21 joints the model knows, in the order every frame carries them (skeleton preset "canonical").</summary>
        public static readonly string[] CanonicalJoints =
        {
            "Hips", "Spine", "Chest", "Neck", "Head",
            "LeftShoulder", "LeftUpperArm", "LeftLowerArm", "LeftHand",
            "RightShoulder", "RightUpperArm", "RightLowerArm", "RightHand",
            "LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "LeftToes",
            "RightUpperLeg", "RightLowerLeg", "RightFoot", "RightToes",
        };

        public const int JointCount = 21;

        /// <summary>Floats per frame: x, y, z of each canonical joint.</summary>
        public const int ValuesPerFrame = JointCount * 3;

        /// <summary>Defaults of the server's limits, used until its <c>ready</c> says otherwise.</summary>
        public const int DefaultMaxMessageBytes = 1 << 20;
        public const int DefaultMaxFramesPerMessage = 2048;
        public const int DefaultMaxAvatarIdLength = 128;

        /// <summary>
        /// The WebSocket address of <paramref name="path"/> on a server given as "ws://host:port",
        /// "http://host:port" or "host:port". A path on the address is a prefix (a proxy's):
        /// "wss://example.org/motionguard" gives "wss://example.org/motionguard/v1/ingest"; an endpoint
        /// path already on it (either one) is replaced.
        /// </summary>
        public static Uri BuildUri(string serverUrl, string path)
        {
            if (string.IsNullOrEmpty(serverUrl)) throw new ArgumentException("the server address is empty");
            string text = serverUrl.Trim();
            if (text.IndexOf("://", StringComparison.Ordinal) < 0) text = "ws://" + text;
            Uri uri;
            if (!Uri.TryCreate(text, UriKind.Absolute, out uri)) throw new ArgumentException("'" + serverUrl + "' is not a server address such as ws://127.0.0.1:8080");
            var builder = new UriBuilder(uri);
            string scheme = uri.Scheme.ToLowerInvariant();
            if (scheme == "http") builder.Scheme = "ws";
            else if (scheme == "https") builder.Scheme = "wss";
            else if (scheme != "ws" && scheme != "wss") throw new ArgumentException("'" + serverUrl + "' must be a ws:// or wss:// address");
            // The address's path is a prefix (a proxy's, or none); an endpoint path already on it is replaced.
            string prefix = uri.AbsolutePath.TrimEnd('/');
            if (prefix.EndsWith(IngestPath, StringComparison.Ordinal)) prefix = prefix.Substring(0, prefix.Length - IngestPath.Length);
            else if (prefix.EndsWith(AlertsPath, StringComparison.Ordinal)) prefix = prefix.Substring(0, prefix.Length - AlertsPath.Length);
            builder.Path = prefix + path;
            return builder.Uri;
        }

        /// <summary>An avatar id the server accepts: 1 to 128 characters, no control characters. Returns why not, or null.</summary>
        public static string CheckAvatarId(string avatar, int maxLength = DefaultMaxAvatarIdLength)
        {
            if (string.IsNullOrEmpty(avatar)) return "the avatar id is empty";
            if (avatar.Length > maxLength) return "the avatar id '" + avatar.Substring(0, 32) + "...' is longer than " + maxLength + " characters";
            foreach (char c in avatar)
            {
                if (c < 0x20 || c == 0x7f) return "the avatar id '" + avatar + "' contains a control character";
            }
            return null;
        }

        /// <summary>{type: "hello", v: 1, skeleton: "canonical", units: "m", fps}.</summary>
        public static byte[] EncodeHello(double fps)
        {
            var w = new MsgPackWriter(64);
            w.WriteMapHeader(5);
            w.WriteString("type");
            w.WriteString("hello");
            w.WriteString("v");
            w.WriteInt(Version);
            w.WriteString("skeleton");
            w.WriteString("canonical");
            w.WriteString("units");
            w.WriteString("m");
            w.WriteString("fps");
            w.WriteNumber(fps);
            return w.ToArray();
        }

        /// <summary>
        /// {type: "subscribe", avatars?, prefix?, scores?}: every avatar when both <paramref name="avatars"/>
        /// and <paramref name="prefix"/> are null or empty; avatars matching either otherwise.
        /// </summary>
        public static byte[] EncodeSubscribe(IList<string> avatars, string prefix, bool scores)
        {
            bool hasAvatars = avatars != null && avatars.Count > 0;
            bool hasPrefix = !string.IsNullOrEmpty(prefix);
            var w = new MsgPackWriter(64);
            w.WriteMapHeader(1 + (hasAvatars ? 1 : 0) + (hasPrefix ? 1 : 0) + (scores ? 1 : 0));
            w.WriteString("type");
            w.WriteString("subscribe");
            if (hasAvatars)
            {
                w.WriteString("avatars");
                w.WriteArrayHeader(avatars.Count);
                foreach (var avatar in avatars) w.WriteString(avatar);
            }
            if (hasPrefix)
            {
                w.WriteString("prefix");
                w.WriteString(prefix);
            }
            if (scores)
            {
                w.WriteString("scores");
                w.WriteBool(true);
            }
            return w.ToArray();
        }

        /// <summary>Starts a {type: "frames", frames: [...]} message of <paramref name="count"/> frames; then call WriteFrame count times.</summary>
        public static void BeginFrames(MsgPackWriter w, int count)
        {
            w.WriteMapHeader(2);
            w.WriteString("type");
            w.WriteString("frames");
            w.WriteString("frames");
            w.WriteArrayHeader(count);
        }

        /// <summary>
        /// One frame {avatar, seq, t, joints}: <paramref name="positions"/> holds the 63 canonical
        /// coordinates from <paramref name="offset"/>, already in protocol axes (right-handed, Y up) and metres.
        /// </summary>
        public static void WriteFrame(MsgPackWriter w, string avatar, long seq, long timeMs, float[] positions, int offset)
        {
            w.WriteMapHeader(4);
            w.WriteString("avatar");
            w.WriteString(avatar);
            w.WriteString("seq");
            w.WriteInt(seq);
            w.WriteString("t");
            w.WriteInt(timeMs);
            w.WriteString("joints");
            w.WriteFloat32LittleEndianBin(positions, offset, ValuesPerFrame);
        }

        /// <summary>
        /// Decodes one server message: MotionguardReady, MotionguardError, MotionguardSubscribed,
        /// MotionguardAlert, MotionguardScores, or MotionguardUnknownMessage for a type this client
        /// does not know (newer servers may add some). Throws MsgPackException on bytes that are not a msgpack map with a type.
        /// </summary>
        public static MotionguardMessage ParseServerMessage(byte[] data)
        {
            return ParseServerMessage(data, 0, data.Length);
        }

        public static MotionguardMessage ParseServerMessage(byte[] data, int offset, int count)
        {
            var map = MsgPackReader.Decode(data, offset, count) as IDictionary<string, object>;
            if (map == null) throw new MsgPackException("a server message must be a map");
            string type = MsgPackValue.GetString(map, "type");
            if (type == null) throw new MsgPackException("a server message needs a string 'type'");
            switch (type)
            {
                case "ready": return new MotionguardReady(map);
                case "error": return new MotionguardError(map);
                case "subscribed": return new MotionguardSubscribed(map);
                case "alert": return new MotionguardAlert(map);
                case "scores": return new MotionguardScores(map);
                default: return new MotionguardUnknownMessage(map);
            }
        }

        internal static string[] StringArray(IList<object> list)
        {
            if (list == null) return null;
            var result = new string[list.Count];
            for (int i = 0; i < list.Count; i++) result[i] = list[i] as string;
            return result;
        }
    }

    /// <summary>A decoded server message; <see cref="Fields"/> holds every field as decoded, known or not.</summary>
    public abstract class MotionguardMessage
    {
        protected MotionguardMessage(IDictionary<string, object> fields)
        {
            Fields = fields;
            Type = MsgPackValue.GetString(fields, "type");
        }

        public string Type { get; private set; }
        public IDictionary<string, object> Fields { get; private set; }
    }

    public sealed class MotionguardUnknownMessage : MotionguardMessage
    {
        public MotionguardUnknownMessage(IDictionary<string, object> fields) : base(fields) { }
    }

    public sealed class MotionguardThresholds
    {
        public MotionguardThresholds(IDictionary<string, object> map)
        {
            if (map == null) return;
            Frame = MsgPackValue.GetDouble(map, "frame");
            Sequence = MsgPackValue.GetDouble(map, "sequence");
            Fraction = MsgPackValue.GetDouble(map, "fraction");
            Spike = MsgPackValue.GetDouble(map, "spike");
        }

        public double Frame { get; private set; }
        public double Sequence { get; private set; }
        public double Fraction { get; private set; }
        public double Spike { get; private set; }

        public override string ToString()
        {
            return string.Format("frame {0:0.###}, sequence {1:0.###}, fraction {2:0.###}, spike {3:0.###}", Frame, Sequence, Fraction, Spike);
        }
    }

    public sealed class MotionguardLimits
    {
        public MotionguardLimits(IDictionary<string, object> map)
        {
            MaxMessageBytes = (int)MsgPackValue.GetLong(map ?? new Dictionary<string, object>(), "maxMessageBytes", MotionguardProtocol.DefaultMaxMessageBytes);
            MaxFramesPerMessage = (int)MsgPackValue.GetLong(map ?? new Dictionary<string, object>(), "maxFramesPerMessage", MotionguardProtocol.DefaultMaxFramesPerMessage);
            MaxAvatarsPerConnection = (int)MsgPackValue.GetLong(map ?? new Dictionary<string, object>(), "maxAvatarsPerConnection", 1024);
            MaxAvatarIdLength = (int)MsgPackValue.GetLong(map ?? new Dictionary<string, object>(), "maxAvatarIdLength", MotionguardProtocol.DefaultMaxAvatarIdLength);
        }

        public int MaxMessageBytes { get; private set; }
        public int MaxFramesPerMessage { get; private set; }
        public int MaxAvatarsPerConnection { get; private set; }
        public int MaxAvatarIdLength { get; private set; }
    }

    /// <summary>The server's answer to <c>hello</c>.</summary>
    public sealed class MotionguardReady : MotionguardMessage
    {
        public MotionguardReady(IDictionary<string, object> map) : base(map)
        {
            Version = (int)MsgPackValue.GetLong(map, "v");
            Fps = MsgPackValue.GetDouble(map, "fps");
            JointNames = MotionguardProtocol.StringArray(MsgPackValue.GetList(map, "jointNames")) ?? new string[0];
            Joints = (int)MsgPackValue.GetLong(map, "joints");
            Limits = new MotionguardLimits(MsgPackValue.GetMap(map, "limits"));
            Thresholds = new MotionguardThresholds(MsgPackValue.GetMap(map, "thresholds"));
        }

        public int Version { get; private set; }
        /// <summary>The model's frame rate (frames are resampled to it).</summary>
        public double Fps { get; private set; }
        public string[] JointNames { get; private set; }
        /// <summary>Joints per frame this connection must send.</summary>
        public int Joints { get; private set; }
        public MotionguardLimits Limits { get; private set; }
        public MotionguardThresholds Thresholds { get; private set; }
    }

    /// <summary>
    /// A refused message or frame. Codes are stable (see the protocol's error table); treat
    /// unknown codes as generic errors.
    /// </summary>
    public sealed class MotionguardError : MotionguardMessage
    {
        public MotionguardError(IDictionary<string, object> map) : base(map)
        {
            Code = MsgPackValue.GetString(map, "code", "unknown");
            Message = MsgPackValue.GetString(map, "message", "");
            Avatar = MsgPackValue.GetString(map, "avatar");
            long value;
            object raw;
            if (map.TryGetValue("seq", out raw) && MsgPackValue.TryGetLong(raw, out value)) Seq = value;
            if (map.TryGetValue("index", out raw) && MsgPackValue.TryGetLong(raw, out value)) Index = (int)value;
        }

        public string Code { get; private set; }
        public string Message { get; private set; }
        /// <summary>The frame's avatar, when the error is about one frame.</summary>
        public string Avatar { get; private set; }
        public long? Seq { get; private set; }
        /// <summary>Position of the refused frame in its <c>frames</c> message.</summary>
        public int? Index { get; private set; }

        public override string ToString()
        {
            return Code + ": " + Message + (Avatar != null ? " (avatar " + Avatar + (Seq.HasValue ? ", seq " + Seq.Value : "") + ")" : "");
        }
    }

    /// <summary>The server's answer to <c>subscribe</c>.</summary>
    public sealed class MotionguardSubscribed : MotionguardMessage
    {
        public MotionguardSubscribed(IDictionary<string, object> map) : base(map)
        {
            Avatars = MotionguardProtocol.StringArray(MsgPackValue.GetList(map, "avatars"));
            Prefix = MsgPackValue.GetString(map, "prefix");
            Scores = MsgPackValue.GetBool(map, "scores");
            Format = MsgPackValue.GetString(map, "format", "msgpack");
            Fps = MsgPackValue.GetDouble(map, "fps");
            JointNames = MotionguardProtocol.StringArray(MsgPackValue.GetList(map, "jointNames")) ?? new string[0];
            Thresholds = new MotionguardThresholds(MsgPackValue.GetMap(map, "thresholds"));
        }

        /// <summary>Null: not subscribed by list.</summary>
        public string[] Avatars { get; private set; }
        public string Prefix { get; private set; }
        public bool Scores { get; private set; }
        public string Format { get; private set; }
        public double Fps { get; private set; }
        public string[] JointNames { get; private set; }
        public MotionguardThresholds Thresholds { get; private set; }
    }

    public enum MotionguardAlertState
    {
        Start,
        End,
    }

    public struct MotionguardTopJoint
    {
        public MotionguardTopJoint(string joint, double score)
        {
            Joint = joint;
            Score = score;
        }

        /// <summary>Canonical joint name, e.g. "RightLowerArm" (the name of the HumanBodyBones value).</summary>
        public readonly string Joint;
        public readonly double Score;

        public override string ToString()
        {
            return Joint + " " + Score.ToString("0.##");
        }
    }

    /// <summary>An episode of anomalous motion started or ended for one avatar.</summary>
    public sealed class MotionguardAlert : MotionguardMessage
    {
        public MotionguardAlert(IDictionary<string, object> map) : base(map)
        {
            Avatar = MsgPackValue.GetString(map, "avatar", "");
            StateName = MsgPackValue.GetString(map, "state", "");
            State = StateName == "end" ? MotionguardAlertState.End : MotionguardAlertState.Start;
            Time = MsgPackValue.GetLong(map, "time");
            Seq = MsgPackValue.GetLong(map, "seq");
            Fraction = MsgPackValue.GetDouble(map, "fraction");
            SequenceScore = MsgPackValue.GetDouble(map, "sequenceScore");
            FrameScore = MsgPackValue.GetDouble(map, "frameScore");
            Episode = MsgPackValue.GetLong(map, "episode");
            Reason = MsgPackValue.GetString(map, "reason", "");
            Cause = MsgPackValue.GetString(map, "cause");
            long frames;
            object raw;
            if (map.TryGetValue("frames", out raw) && MsgPackValue.TryGetLong(raw, out frames)) Frames = (int)frames;
            var joints = new List<MotionguardTopJoint>();
            var list = MsgPackValue.GetList(map, "topJoints");
            if (list != null)
            {
                foreach (var item in list)
                {
                    var joint = item as IDictionary<string, object>;
                    if (joint != null) joints.Add(new MotionguardTopJoint(MsgPackValue.GetString(joint, "joint", ""), MsgPackValue.GetDouble(joint, "score")));
                }
            }
            TopJoints = joints.ToArray();
        }

        public string Avatar { get; private set; }
        public MotionguardAlertState State { get; private set; }
        /// <summary>"start" or "end" as sent.</summary>
        public string StateName { get; private set; }
        public bool IsStart { get { return State == MotionguardAlertState.Start; } }
        /// <summary>Server time, Unix epoch milliseconds.</summary>
        public long Time { get; private set; }
        public DateTime TimeUtc { get { return new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMilliseconds(Time); } }
        /// <summary>Seq of the avatar's frame at which the state changed (the streamer's seq).</summary>
        public long Seq { get; private set; }
        /// <summary>Fraction of the window's frames over the frame threshold, at that frame.</summary>
        public double Fraction { get; private set; }
        public double SequenceScore { get; private set; }
        /// <summary>Peak frame score of the episode (so far, for a start).</summary>
        public double FrameScore { get; private set; }
        /// <summary>The three highest joint scores of the episode's peak frame: where to look.</summary>
        public MotionguardTopJoint[] TopJoints { get; private set; }
        /// <summary>Shared by the start and the end of one episode; unique within a server run.</summary>
        public long Episode { get; private set; }
        /// <summary>"sustained", "spike" or "both".</summary>
        public string Reason { get; private set; }
        /// <summary>End only: "recovered", "evicted" (the avatar went silent) or "shutdown".</summary>
        public string Cause { get; private set; }
        /// <summary>End only: episode length in frames at the model fps.</summary>
        public int? Frames { get; private set; }

        public override string ToString()
        {
            return "motionguard alert " + StateName + " " + Avatar + " (episode " + Episode + ", seq " + Seq + ", " + Reason
                + (Cause != null ? ", " + Cause : "") + "; frame score " + FrameScore.ToString("0.##") + "; top joints "
                + string.Join(", ", Array.ConvertAll(TopJoints, j => j.ToString())) + ")";
        }
    }

    public sealed class MotionguardAvatarScore
    {
        public MotionguardAvatarScore(IDictionary<string, object> map)
        {
            Avatar = MsgPackValue.GetString(map, "avatar", "");
            Seq = MsgPackValue.GetLong(map, "seq");
            Frames = (int)MsgPackValue.GetLong(map, "frames");
            FrameScore = MsgPackValue.GetDouble(map, "frameScore");
            Fraction = MsgPackValue.GetDouble(map, "fraction");
            Alerting = MsgPackValue.GetBool(map, "alerting");
            var list = MsgPackValue.GetList(map, "jointScores");
            JointScores = new float[list == null ? 0 : list.Count];
            for (int i = 0; i < JointScores.Length; i++)
            {
                double d;
                JointScores[i] = MsgPackValue.TryGetDouble(list[i], out d) ? (float)d : float.NaN;
            }
        }

        public string Avatar { get; private set; }
        /// <summary>Newest scored frame.</summary>
        public long Seq { get; private set; }
        /// <summary>Frames of this avatar scored in this tick.</summary>
        public int Frames { get; private set; }
        public double FrameScore { get; private set; }
        /// <summary>Joint scores of that frame, canonical joint order.</summary>
        public float[] JointScores { get; private set; }
        public double Fraction { get; private set; }
        public bool Alerting { get; private set; }
    }

    /// <summary>Per-tick scores (only for subscriptions with scores on).</summary>
    public sealed class MotionguardScores : MotionguardMessage
    {
        public MotionguardScores(IDictionary<string, object> map) : base(map)
        {
            Time = MsgPackValue.GetLong(map, "time");
            var avatars = new List<MotionguardAvatarScore>();
            var list = MsgPackValue.GetList(map, "avatars");
            if (list != null)
            {
                foreach (var item in list)
                {
                    var entry = item as IDictionary<string, object>;
                    if (entry != null) avatars.Add(new MotionguardAvatarScore(entry));
                }
            }
            Avatars = avatars.ToArray();
        }

        public long Time { get; private set; }
        public MotionguardAvatarScore[] Avatars { get; private set; }
    }
}
