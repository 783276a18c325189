// Unit checks of the runtime without a server: the msgpack codec (exact bytes, round trips,
// corrupt input, and files exchanged with the JS side's @msgpack/msgpack), protocol messages,
// axes, bone fallbacks, and the streamer driven through the UnityEngine stand-in.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.IO;
using System.Linq;
using System.Text;
using Motionguard;
using UnityEngine;

namespace MotionguardTests
{
    public static class UnitTests
    {
        public static int Run(string dir)
        {
            Debug.Sink = (level, message) => { if (level != "info") Console.Error.WriteLine("[unity " + level + "] " + message); };
            ExactEncodings();
            RoundTrips();
            CorruptInput();
            FixtureExchange(dir);
            ServerMessages(dir);
            ClientMessages(dir);
            Addresses();
            Axes();
            Fallbacks();
            Skeletons();
            Batching();
            StreamerThroughStandIn();
            Console.WriteLine(Json.Obj("event", "unit", "passed", Check.Passed, "failed", Check.Failed));
            Console.Error.WriteLine("unit checks: " + Check.Passed + " passed, " + Check.Failed + " failed");
            return Check.Failed == 0 ? 0 : 1;
        }

        // ------------------------------------------------------------------ msgpack

        private static string Hex(byte[] bytes, int max = 16)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < Math.Min(bytes.Length, max); i++) sb.Append(bytes[i].ToString("x2"));
            if (bytes.Length > max) sb.Append("...");
            return sb.ToString();
        }

        private static byte[] Write(Action<MsgPackWriter> write)
        {
            var w = new MsgPackWriter(4);
            write(w);
            return w.ToArray();
        }

        private static void Bytes(string expectedHexPrefix, int expectedLength, Action<MsgPackWriter> write, string what)
        {
            var bytes = Write(write);
            Check.Equal(expectedLength, bytes.Length, what + " length");
            Check.Equal(expectedHexPrefix, Hex(bytes, expectedHexPrefix.Length / 2).Replace("...", ""), what + " bytes");
        }

        private static void ExactEncodings()
        {
            Bytes("c0", 1, w => w.WriteNil(), "nil");
            Bytes("c3", 1, w => w.WriteBool(true), "true");
            Bytes("c2", 1, w => w.WriteBool(false), "false");
            Bytes("00", 1, w => w.WriteInt(0), "0");
            Bytes("7f", 1, w => w.WriteInt(127), "127");
            Bytes("cc80", 2, w => w.WriteInt(128), "128");
            Bytes("ccff", 2, w => w.WriteInt(255), "255");
            Bytes("cd0100", 3, w => w.WriteInt(256), "256");
            Bytes("cdffff", 3, w => w.WriteInt(65535), "65535");
            Bytes("ce00010000", 5, w => w.WriteInt(65536), "65536");
            Bytes("ceffffffff", 5, w => w.WriteInt(uint.MaxValue), "2^32-1");
            Bytes("cf0000000100000000", 9, w => w.WriteInt(1L << 32), "2^32");
            Bytes("cfffffffffffffffff", 9, w => w.WriteUInt(ulong.MaxValue), "2^64-1");
            Bytes("ff", 1, w => w.WriteInt(-1), "-1");
            Bytes("e0", 1, w => w.WriteInt(-32), "-32");
            Bytes("d0df", 2, w => w.WriteInt(-33), "-33");
            Bytes("d080", 2, w => w.WriteInt(-128), "-128");
            Bytes("d1ff7f", 3, w => w.WriteInt(-129), "-129");
            Bytes("d18000", 3, w => w.WriteInt(-32768), "-32768");
            Bytes("d2ffff7fff", 5, w => w.WriteInt(-32769), "-32769");
            Bytes("d280000000", 5, w => w.WriteInt(int.MinValue), "-2^31");
            Bytes("d3ffffffff7fffffff", 9, w => w.WriteInt(int.MinValue - 1L), "-2^31-1");
            Bytes("d38000000000000000", 9, w => w.WriteInt(long.MinValue), "-2^63");
            Bytes("ca3fc00000", 5, w => w.WriteFloat(1.5f), "float32 1.5");
            Bytes("cb3ff8000000000000", 9, w => w.WriteDouble(1.5), "float64 1.5");
            Bytes("1e", 1, w => w.WriteNumber(30), "number 30");
            Bytes("cb4052200000000000", 9, w => w.WriteNumber(72.5), "number 72.5");
            Bytes("00", 1, w => w.WriteNumber(-0.0), "number -0 (as JS: int 0)");
            Bytes("cb4340000000000000", 9, w => w.WriteNumber(9007199254740992.0), "number 2^53 (not a safe integer: float64)");
            Bytes("cb", 9, w => w.WriteNumber(double.NaN), "number NaN");
            Bytes("a0", 1, w => w.WriteString(""), "empty string");
            Bytes("a2c3a9", 3, w => w.WriteString("\u00e9"), "string counts UTF-8 bytes");
            Bytes("bf78", 32, w => w.WriteString(new string('x', 31)), "fixstr 31");
            Bytes("d92078", 34, w => w.WriteString(new string('x', 32)), "str8 32");
            Bytes("d9ff", 257, w => w.WriteString(new string('x', 255)), "str8 255");
            Bytes("da0100", 259, w => w.WriteString(new string('x', 256)), "str16 256");
            Bytes("db00010000", 65541, w => w.WriteString(new string('x', 65536)), "str32 65536");
            Bytes("c400", 2, w => w.WriteBin(new byte[0]), "bin 0");
            Bytes("c4ff", 257, w => w.WriteBin(new byte[255]), "bin8 255");
            Bytes("c50100", 259, w => w.WriteBin(new byte[256]), "bin16 256");
            Bytes("c600010000", 65541, w => w.WriteBin(new byte[65536]), "bin32 65536");
            Bytes("90", 1, w => w.WriteArrayHeader(0), "fixarray 0");
            Bytes("9f", 1, w => w.WriteArrayHeader(15), "fixarray 15");
            Bytes("dc0010", 3, w => w.WriteArrayHeader(16), "array16");
            Bytes("dd00010000", 5, w => w.WriteArrayHeader(65536), "array32");
            Bytes("80", 1, w => w.WriteMapHeader(0), "fixmap 0");
            Bytes("8f", 1, w => w.WriteMapHeader(15), "fixmap 15");
            Bytes("de0010", 3, w => w.WriteMapHeader(16), "map16");
            Bytes("df00010000", 5, w => w.WriteMapHeader(65536), "map32");
            Bytes("d6ff00000001", 6, w => w.WriteExt(-1, new byte[] { 0, 0, 0, 1 }), "fixext4 (timestamp)");
            Bytes("c70301010203", 6, w => w.WriteExt(1, new byte[] { 1, 2, 3 }), "ext8");
            // The protocol's joints: little-endian float32 whatever the host.
            Bytes("c4080000803f000000c0", 10, w => w.WriteFloat32LittleEndianBin(new[] { 9f, 1f, -2f }, 1, 2), "float32 LE bin");
            Check.Throws<MsgPackException>(() => Write(w => w.WriteString("\ud800")), "lone surrogate");
            Check.Throws<MsgPackException>(() => Write(w => w.WriteValue(new object())), "unsupported type");
        }

        private static void RoundTrips()
        {
            var cases = new object[]
            {
                null, true, false, 0L, 1L, 127L, 128L, 255L, 256L, 65535L, 65536L, 4294967295L, 4294967296L, long.MaxValue,
                -1L, -32L, -33L, -128L, -129L, -32768L, -32769L, (long)int.MinValue, int.MinValue - 1L, long.MinValue,
                ulong.MaxValue, 1.5f, float.MaxValue, float.Epsilon, 0.1, double.MaxValue, double.Epsilon, double.NegativeInfinity,
                "", "Zürich ✓ 🐈", new string('q', 70000), new byte[0], Enumerable.Range(0, 300).Select(i => (byte)i).ToArray(),
                new List<object>(), new List<object> { 1L, "two", new List<object> { 3.0 } }, Fixture(),
            };
            foreach (var value in cases)
            {
                var w = new MsgPackWriter();
                w.WriteValue(value);
                object back = MsgPackReader.Decode(w.ToArray());
                Check.True(DeepEqual(value, back), "round trip of " + Check.Show(value) + " gave " + Check.Show(back));
            }
            object nan = MsgPackReader.Decode(Write(w => w.WriteFloat(float.NaN)));
            Check.True(nan is float && float.IsNaN((float)nan), "float32 NaN round trip");
            // Narrow .NET integer types write as the same msgpack ints and read back as long.
            Check.Equal<object>(200L, MsgPackReader.Decode(Write(w => w.WriteValue((byte)200))), "byte");
            Check.Equal<object>(-5L, MsgPackReader.Decode(Write(w => w.WriteValue((sbyte)-5))), "sbyte");
            Check.Equal<object>(40000L, MsgPackReader.Decode(Write(w => w.WriteValue((ushort)40000))), "ushort");
            Check.Equal<object>(7L, MsgPackReader.Decode(Write(w => w.WriteValue(7))), "int");
            // Non-string map keys become their text; ext values come back as MsgPackExt.
            var map = (IDictionary<string, object>)MsgPackReader.Decode(new byte[] { 0x82, 0x01, 0xa1, 0x61, 0xc3, 0x02 });
            Check.Equal<object>("a", map["1"], "int key");
            Check.Equal<object>(2L, map["True"], "bool key");
            var ext = MsgPackReader.Decode(new byte[] { 0xd6, 0xff, 0, 0, 0, 1 }) as MsgPackExt;
            Check.True(ext != null && ext.Type == -1 && ext.Data.Length == 4 && ext.Data[3] == 1, "timestamp ext read as MsgPackExt");
            // A reader can walk a stream of values.
            var reader = new MsgPackReader(new byte[] { 0x01, 0xa1, 0x62, 0xc0 });
            Check.Equal<object>(1L, reader.ReadValue(), "stream value 1");
            Check.Equal<object>("b", reader.ReadValue(), "stream value 2");
            Check.Equal<object>(null, reader.ReadValue(), "stream value 3");
            Check.True(reader.AtEnd, "stream at end");
            // Typed access accepts any number type (the server writes whole numbers as ints).
            var fields = new Dictionary<string, object> { { "i", 3L }, { "f", 0.5f }, { "d", 2.0 }, { "s", "x" } };
            Check.Equal(3.0, MsgPackValue.GetDouble(fields, "i"), "GetDouble of an int");
            Check.Equal(0.5, MsgPackValue.GetDouble(fields, "f"), "GetDouble of a float32");
            Check.Equal(2L, MsgPackValue.GetLong(fields, "d"), "GetLong of a whole double");
            Check.Equal(9L, MsgPackValue.GetLong(fields, "s", 9), "GetLong fallback on a string");
            Check.True(double.IsNaN(MsgPackValue.GetDouble(fields, "missing")), "GetDouble of a missing key is NaN");
        }

        private static void CorruptInput()
        {
            var bad = new[]
            {
                new byte[0],
                new byte[] { 0xc1 },
                new byte[] { 0xcd, 0x01 },
                new byte[] { 0xa5, 0x61 },
                new byte[] { 0xc6, 0xff, 0xff, 0xff, 0xff },
                new byte[] { 0xdd, 0xff, 0xff, 0xff, 0xff },
                new byte[] { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00 },
                new byte[] { 0x92, 0x01 },
                new byte[] { 0x01, 0x02 },
                Enumerable.Repeat((byte)0x91, 100).Concat(new byte[] { 0xc0 }).ToArray(),
            };
            foreach (var bytes in bad)
            {
                Check.Throws<MsgPackException>(() => MsgPackReader.Decode(bytes), "corrupt input " + Hex(bytes));
            }
            Check.Throws<MsgPackException>(() => MotionguardProtocol.ParseServerMessage(new byte[] { 0x91, 0x01 }), "a server message that is not a map");
            Check.Throws<MsgPackException>(() => MotionguardProtocol.ParseServerMessage(Write(w => { w.WriteMapHeader(1); w.WriteString("type"); w.WriteInt(1); })), "a server message without a string type");
        }

        private static byte[] Pattern(int n)
        {
            var bytes = new byte[n];
            for (int i = 0; i < n; i++) bytes[i] = (byte)((i * 7 + 3) & 255);
            return bytes;
        }

        private static OrderedDictionary Map(params object[] pairs)
        {
            var map = new OrderedDictionary();
            for (int i = 0; i < pairs.Length; i += 2) map.Add(pairs[i], pairs[i + 1]);
            return map;
        }

        private static OrderedDictionary KeyMap(int n)
        {
            var map = new OrderedDictionary();
            for (int i = 0; i < n; i++) map.Add("k" + i.ToString("00"), (long)i);
            return map;
        }

        /// <summary>The same value as FIXTURE in test/clients-unity.test.ts (same key order: same bytes).</summary>
        public static OrderedDictionary Fixture()
        {
            return Map(
                "nil", null,
                "yes", true,
                "no", false,
                "ints", new List<object> { 0L, 1L, 127L, 128L, 255L, 256L, 65535L, 65536L, 4294967295L, 4294967296L, 9007199254740991L, -1L, -32L, -33L, -128L, -129L, -32768L, -32769L, -2147483648L, -2147483649L, -9007199254740991L },
                "floats", new List<object> { 0.5, -1.25, 0.1, 1e300, -2.5e-300, Math.PI },
                "strings", new List<object> { "", "a", "Zürich ✓ 🐈", new string('x', 31), new string('x', 32), new string('y', 255), new string('y', 256), new string('z', 65535), new string('z', 65536) },
                "bins", new List<object> { Pattern(0), Pattern(255), Pattern(256), Pattern(65536) },
                "arrays", new List<object> { new List<object>(), Enumerable.Range(0, 15).Select(i => (object)(long)i).ToList(), Enumerable.Range(0, 16).Select(i => (object)(long)i).ToList(), Enumerable.Repeat((object)0L, 65536).ToList() },
                "maps", new List<object> { new OrderedDictionary(), KeyMap(15), KeyMap(16) },
                "nested", Map("a", new List<object> { 1L, Map("b", new List<object> { true, false, null }) }, "c", Map("d", Map("e", "deep"))));
        }

        /// <summary>Float32 values; JS reads them as Math.fround(value).</summary>
        private static readonly float[] Float32s = { 1.5f, 0.1f, -3.4028235e38f, 1e-45f, -0.5f, 123.456f };

        private static void FixtureExchange(string dir)
        {
            var w = new MsgPackWriter();
            w.WriteValue(Fixture());
            byte[] ours = w.ToArray();
            File.WriteAllBytes(Path.Combine(dir, "csharp-fixture.msgpack"), ours);
            w.Clear();
            w.WriteArrayHeader(Float32s.Length);
            foreach (var f in Float32s) w.WriteFloat(f);
            File.WriteAllBytes(Path.Combine(dir, "csharp-float32.msgpack"), w.ToArray());

            string js = Path.Combine(dir, "js-fixture.msgpack");
            if (!File.Exists(js))
            {
                Console.Error.WriteLine("note: " + js + " is absent (written by the vitest test): the JS -> C# checks are skipped");
                return;
            }
            byte[] theirs = File.ReadAllBytes(js);
            Check.Equal(theirs.Length, ours.Length, "the fixture encodes to as many bytes as @msgpack/msgpack's");
            Check.True(theirs.SequenceEqual(ours), "the fixture encodes to the same bytes as @msgpack/msgpack's");
            Check.True(DeepEqual(Fixture(), MsgPackReader.Decode(theirs)), "@msgpack/msgpack's fixture decodes to the fixture");
            var floats = MsgPackReader.Decode(File.ReadAllBytes(Path.Combine(dir, "js-float32.msgpack"))) as IList<object>;
            Check.True(floats != null && floats.Count == Float32s.Length, "js float32 list");
            for (int i = 0; floats != null && i < Float32s.Length; i++)
            {
                Check.True(floats[i] is float && (float)floats[i] == Float32s[i], "js float32 " + i + ": " + Check.Show(floats[i]));
            }
        }

        private static void ServerMessages(string dir)
        {
            string path = Path.Combine(dir, "js-server-messages.msgpack");
            if (!File.Exists(path)) return;
            var list = (IList<object>)MsgPackReader.Decode(File.ReadAllBytes(path));
            var messages = list.Select(bin => MotionguardProtocol.ParseServerMessage((byte[])bin)).ToList();
            Check.Equal(7, messages.Count, "server messages");

            var ready = messages[0] as MotionguardReady;
            Check.True(ready != null, "ready parsed");
            if (ready != null)
            {
                Check.Equal(1, ready.Version, "ready.v");
                Check.Equal(30.0, ready.Fps, "ready.fps");
                Check.Equal(21, ready.Joints, "ready.joints");
                Check.True(ready.JointNames.SequenceEqual(MotionguardProtocol.CanonicalJoints), "ready.jointNames are the canonical joints");
                Check.Equal(1048576, ready.Limits.MaxMessageBytes, "limits.maxMessageBytes");
                Check.Equal(2048, ready.Limits.MaxFramesPerMessage, "limits.maxFramesPerMessage");
                Check.Equal(1024, ready.Limits.MaxAvatarsPerConnection, "limits.maxAvatarsPerConnection");
                Check.Equal(128, ready.Limits.MaxAvatarIdLength, "limits.maxAvatarIdLength");
                Check.Equal(3.24, ready.Thresholds.Frame, "thresholds.frame");
                Check.Equal(8.3, ready.Thresholds.Sequence, "thresholds.sequence");
                Check.Equal(0.1, ready.Thresholds.Fraction, "thresholds.fraction");
                Check.Equal(25.5, ready.Thresholds.Spike, "thresholds.spike");
            }
            var error = messages[1] as MotionguardError;
            Check.True(error != null, "error parsed");
            if (error != null)
            {
                Check.Equal("bad_joint_count", error.Code, "error.code");
                Check.Equal("joints holds 240 bytes; 21 joints need 252 (float32 x, y, z each)", error.Message, "error.message");
                Check.Equal("room7/bob", error.Avatar, "error.avatar");
                Check.Equal<long?>(1, error.Seq, "error.seq");
                Check.Equal<int?>(1, error.Index, "error.index");
            }
            var subscribed = messages[2] as MotionguardSubscribed;
            Check.True(subscribed != null, "subscribed parsed");
            if (subscribed != null)
            {
                Check.True(subscribed.Avatars == null, "subscribed.avatars null");
                Check.Equal("room7/", subscribed.Prefix, "subscribed.prefix");
                Check.Equal(true, subscribed.Scores, "subscribed.scores");
                Check.Equal("msgpack", subscribed.Format, "subscribed.format");
                Check.Equal(30.0, subscribed.Fps, "subscribed.fps");
                Check.Equal(21, subscribed.JointNames.Length, "subscribed.jointNames");
                Check.Equal(25.5, subscribed.Thresholds.Spike, "subscribed.thresholds.spike");
            }
            var start = messages[3] as MotionguardAlert;
            Check.True(start != null, "alert start parsed");
            if (start != null)
            {
                Check.Equal("room7/alice", start.Avatar, "start.avatar");
                Check.Equal(MotionguardAlertState.Start, start.State, "start.state");
                Check.True(start.IsStart, "start.IsStart");
                Check.Equal(1764000012345L, start.Time, "start.time");
                Check.Equal(new DateTime(2025, 11, 24, 16, 0, 12, 345, DateTimeKind.Utc), start.TimeUtc, "start.TimeUtc");
                Check.Equal(372L, start.Seq, "start.seq");
                Check.Equal(0.04, start.Fraction, "start.fraction");
                Check.Equal(12.1, start.SequenceScore, "start.sequenceScore");
                Check.Equal(311.3, start.FrameScore, "start.frameScore");
                Check.Equal(3, start.TopJoints.Length, "start.topJoints");
                Check.Equal("RightFoot", start.TopJoints[0].Joint, "start.topJoints[0].joint");
                Check.Equal(402.1, start.TopJoints[0].Score, "start.topJoints[0].score");
                Check.Equal("RightToes", start.TopJoints[2].Joint, "start.topJoints[2].joint");
                Check.Equal(1L, start.Episode, "start.episode");
                Check.Equal("spike", start.Reason, "start.reason");
                Check.True(start.Cause == null && start.Frames == null, "start has no cause or frames");
            }
            var end = messages[4] as MotionguardAlert;
            Check.True(end != null, "alert end parsed");
            if (end != null)
            {
                Check.Equal(MotionguardAlertState.End, end.State, "end.state");
                Check.Equal(0.0, end.Fraction, "end.fraction (an int 0 on the wire)");
                Check.Equal(10859.2, end.FrameScore, "end.frameScore");
                Check.Equal("recovered", end.Cause, "end.cause");
                Check.Equal<int?>(315, end.Frames, "end.frames");
                Check.Equal("both", end.Reason, "end.reason");
                Check.Equal(1L, end.Episode, "end.episode");
            }
            var scores = messages[5] as MotionguardScores;
            Check.True(scores != null, "scores parsed");
            if (scores != null)
            {
                Check.Equal(1764000000100L, scores.Time, "scores.time");
                Check.Equal(1, scores.Avatars.Length, "scores.avatars");
                var a = scores.Avatars[0];
                Check.Equal("room7/alice", a.Avatar, "scores avatar");
                Check.Equal(10L, a.Seq, "scores seq");
                Check.Equal(3, a.Frames, "scores frames");
                Check.Near(1.5, a.FrameScore, 0, "scores frameScore (float32 on the wire)");
                Check.Near(0.02, a.Fraction, 1e-7, "scores fraction (float32 on the wire)");
                Check.Equal(false, a.Alerting, "scores alerting");
                Check.Equal(21, a.JointScores.Length, "jointScores");
                Check.Equal(5f, a.JointScores[20], "jointScores[20]");
            }
            var unknown = messages[6] as MotionguardUnknownMessage;
            Check.True(unknown != null && unknown.Type == "future" && MsgPackValue.GetLong(unknown.Fields, "x") == 1, "an unknown type is kept, not an error");
        }

        /// <summary>Unity positions of joint j in the test rig (left-handed, Y up).</summary>
        private static Vector3 RigPosition(int j, float dx, float dz)
        {
            return new Vector3(0.1f * j + dx, 1f + 0.01f * j, 0.5f + 0.02f * j + dz);
        }

        private static Animator BuildRig(string name, Func<int, Vector3> position, params HumanBodyBones[] without)
        {
            var root = new GameObject(name);
            var animator = root.AddComponent<Animator>();
            animator.isHuman = true;
            for (int j = 0; j < MotionguardProtocol.JointCount; j++)
            {
                var bone = MotionguardSkeleton.CanonicalBones[j];
                if (Array.IndexOf(without, bone) >= 0) continue;
                var t = new GameObject(bone.ToString()).transform;
                t.position = position(j);
                animator.SetBoneTransform(bone, t);
            }
            return animator;
        }

        private static void ClientMessages(string dir)
        {
            var messages = new List<object>
            {
                MotionguardProtocol.EncodeHello(30),
                MotionguardProtocol.EncodeHello(72.5),
                MotionguardProtocol.EncodeSubscribe(null, null, false),
                MotionguardProtocol.EncodeSubscribe(new[] { "room7/alice", "room7/bob" }, "room7/", true),
            };
            // Two avatars' rigs read by MotionguardSkeleton and written as one frames message, as the publisher does.
            var a = MotionguardSkeleton.FromAnimator(BuildRig("a", j => RigPosition(j, 0, 0)), out string problemA);
            var b = MotionguardSkeleton.FromAnimator(BuildRig("b", j => RigPosition(j, 1, 2)), out string problemB);
            Check.True(a != null && b != null, "test rigs: " + problemA + problemB);
            var positions = new float[2 * MotionguardProtocol.ValuesPerFrame];
            Check.True(a.WritePose(positions, 0, 1f), "rig a pose");
            Check.True(b.WritePose(positions, MotionguardProtocol.ValuesPerFrame, 1f), "rig b pose");
            var w = new MsgPackWriter();
            MotionguardProtocol.BeginFrames(w, 2);
            MotionguardProtocol.WriteFrame(w, "unity/a", 7, 1764000000000L, positions, 0);
            MotionguardProtocol.WriteFrame(w, "unity/b", 7, 1764000000000L, positions, MotionguardProtocol.ValuesPerFrame);
            messages.Add(w.ToArray());
            var all = new MsgPackWriter();
            all.WriteValue(messages);
            File.WriteAllBytes(Path.Combine(dir, "csharp-client-messages.msgpack"), all.ToArray());

            // Decoded here too: the frames message as the server will see it.
            var frames = (IDictionary<string, object>)MsgPackReader.Decode((byte[])messages[4]);
            Check.Equal<object>("frames", frames["type"], "frames.type");
            var list = (IList<object>)frames["frames"];
            Check.Equal(2, list.Count, "frames count");
            var first = (IDictionary<string, object>)list[0];
            Check.True(first.Keys.SequenceEqual(new[] { "avatar", "seq", "t", "joints" }), "frame keys");
            Check.Equal(252, ((byte[])first["joints"]).Length, "joints bin of 21 x 3 float32");
        }

        private static void Addresses()
        {
            Check.Equal("ws://127.0.0.1:8080/v1/ingest", MotionguardProtocol.BuildUri("ws://127.0.0.1:8080", "/v1/ingest").ToString(), "ws address");
            Check.Equal("ws://127.0.0.1:8080/v1/alerts", MotionguardProtocol.BuildUri("ws://127.0.0.1:8080/", "/v1/alerts").ToString(), "ws address with /");
            Check.Equal("ws://localhost:9000/v1/ingest", MotionguardProtocol.BuildUri("localhost:9000", "/v1/ingest").ToString(), "host:port");
            Check.Equal("ws://example.org:9000/v1/alerts", MotionguardProtocol.BuildUri("http://example.org:9000", "/v1/alerts").ToString(), "http becomes ws");
            Check.Equal("wss://example.org/v1/ingest", MotionguardProtocol.BuildUri("https://example.org", "/v1/ingest").ToString(), "https becomes wss");
            Check.Equal("wss://example.org/motionguard/v1/ingest", MotionguardProtocol.BuildUri("wss://example.org/motionguard", "/v1/ingest").ToString(), "a path is a prefix");
            Check.Equal("wss://example.org/motionguard/v1/alerts", MotionguardProtocol.BuildUri("wss://example.org/motionguard/v1/ingest/", "/v1/alerts").ToString(), "an endpoint path on a prefix is replaced");
            Check.Equal("ws://127.0.0.1:8080/v1/alerts", MotionguardProtocol.BuildUri("ws://127.0.0.1:8080/v1/ingest", "/v1/alerts").ToString(), "the other endpoint's path is swapped");
            Check.Equal("ws://127.0.0.1:8080/v1/ingest", MotionguardProtocol.BuildUri("ws://127.0.0.1:8080/v1/ingest", "/v1/ingest").ToString(), "the endpoint's own path is kept");
            Check.Throws<ArgumentException>(() => MotionguardProtocol.BuildUri("ftp://example.org", "/v1/ingest"), "ftp address");
            Check.Throws<ArgumentException>(() => MotionguardProtocol.BuildUri("", "/v1/ingest"), "empty address");
            Check.Equal(null, MotionguardProtocol.CheckAvatarId("room7/alice"), "good avatar id");
            Check.True(MotionguardProtocol.CheckAvatarId("") != null, "empty avatar id");
            Check.True(MotionguardProtocol.CheckAvatarId(new string('a', 129)) != null, "129-character avatar id");
            Check.True(MotionguardProtocol.CheckAvatarId(new string('a', 128)) == null, "128-character avatar id");
            Check.True(MotionguardProtocol.CheckAvatarId("a\nb") != null, "avatar id with a newline");
        }

        // ------------------------------------------------------------------ axes and skeletons

        /// <summary>det[a, b, c]: positive for a right-handed triple in a right-handed space.</summary>
        private static double Det(double[] a, double[] b, double[] c)
        {
            return a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
        }

        private static void Axes()
        {
            var p = new float[6];
            MotionguardAxes.UnityToProtocol(1f, 2f, 3f, 1f, p, 3);
            Check.True(p[3] == 1f && p[4] == 2f && p[5] == -3f, "Unity (1, 2, 3) is protocol (1, 2, -3)");
            MotionguardAxes.UnityToProtocol(100f, 50f, -20f, 0.01f, p, 0);
            Check.True(Math.Abs(p[0] - 1f) < 1e-6 && Math.Abs(p[1] - 0.5f) < 1e-6 && Math.Abs(p[2] - 0.2f) < 1e-6, "metresPerUnit scales");
            var v = MotionguardAxes.UnityToProtocol(new Vector3(1, 2, 3));
            Check.True(v.x == 1 && v.y == 2 && v.z == -3, "Vector3 conversion");
            var back = MotionguardAxes.ProtocolToUnity(v);
            Check.True(back.x == 1 && back.y == 2 && back.z == 3, "ProtocolToUnity inverts");

            // A person in Unity facing +Z (forward) has their left hip at -X. In the protocol's
            // right-handed space a real (not mirrored) body has det[left->right, up, forward] < 0;
            // the server's own walker satisfies the same test (checked in the vitest file).
            var skeleton = MotionguardSkeleton.FromAnimator(BuildRig("facing", j =>
            {
                string joint = MotionguardProtocol.CanonicalJoints[j];
                float x = joint.StartsWith("Left", StringComparison.Ordinal) ? -0.1f : joint.StartsWith("Right", StringComparison.Ordinal) ? 0.1f : 0f;
                float z = joint.EndsWith("Toes", StringComparison.Ordinal) ? 0.15f : 0f;
                return new Vector3(x, 1f - 0.04f * j, z);
            }), out string problem);
            var pose = new float[MotionguardProtocol.ValuesPerFrame];
            skeleton.WritePose(pose, 0, 1f);
            Func<int, int, double[]> vec = (from, to) => new double[] { pose[to * 3] - pose[from * 3], pose[to * 3 + 1] - pose[from * 3 + 1], pose[to * 3 + 2] - pose[from * 3 + 2] };
            double det = Det(vec(MotionguardFallbacks.LeftUpperLeg, MotionguardFallbacks.RightUpperLeg), new double[] { 0, 1, 0 }, vec(MotionguardFallbacks.LeftFoot, MotionguardFallbacks.LeftToes));
            Check.True(det < 0, "converted body is not mirrored (det " + det + " < 0)");
        }

        /// <summary>The server's canonical skeleton at rest (src/synth/walker.ts offsets), protocol axes, metres.</summary>
        private static float[] CanonicalRestPose()
        {
            var p = new Dictionary<string, float[]>
            {
                { "Hips", new[] { 0f, 0.95f, 0f } }, { "Spine", new[] { 0f, 1.05f, 0f } }, { "Chest", new[] { 0f, 1.20f, 0f } },
                { "Neck", new[] { 0f, 1.40f, 0f } }, { "Head", new[] { 0f, 1.50f, 0f } },
                { "LeftShoulder", new[] { 0.08f, 1.32f, 0f } }, { "LeftUpperArm", new[] { 0.18f, 1.32f, 0f } },
                { "LeftLowerArm", new[] { 0.18f, 1.04f, 0f } }, { "LeftHand", new[] { 0.18f, 0.79f, 0f } },
                { "LeftUpperLeg", new[] { 0.09f, 0.90f, 0f } }, { "LeftLowerLeg", new[] { 0.09f, 0.48f, 0f } },
                { "LeftFoot", new[] { 0.09f, 0.06f, 0f } }, { "LeftToes", new[] { 0.09f, 0f, 0.12f } },
            };
            var pose = new float[MotionguardProtocol.ValuesPerFrame];
            for (int j = 0; j < MotionguardProtocol.JointCount; j++)
            {
                string joint = MotionguardProtocol.CanonicalJoints[j];
                bool right = joint.StartsWith("Right", StringComparison.Ordinal);
                var q = p[right ? "Left" + joint.Substring(5) : joint];
                pose[j * 3] = right ? -q[0] : q[0];
                pose[j * 3 + 1] = q[1];
                pose[j * 3 + 2] = q[2];
            }
            return pose;
        }

        private static float Dist(float[] p, int a, int b)
        {
            float dx = p[a * 3] - p[b * 3], dy = p[a * 3 + 1] - p[b * 3 + 1], dz = p[a * 3 + 2] - p[b * 3 + 2];
            return (float)Math.Sqrt(dx * dx + dy * dy + dz * dz);
        }

        private static void Fallbacks()
        {
            float[] rest = CanonicalRestPose();
            // In Unity space (negate Z), as the streamer holds it before converting.
            var unity = (float[])rest.Clone();
            for (int j = 0; j < MotionguardProtocol.JointCount; j++) unity[j * 3 + 2] = -unity[j * 3 + 2];
            var cases = new[]
            {
                new[] { MotionguardFallbacks.Chest },
                new[] { MotionguardFallbacks.Neck },
                new[] { MotionguardFallbacks.Chest, MotionguardFallbacks.Neck },
                new[] { MotionguardFallbacks.LeftShoulder, MotionguardFallbacks.RightShoulder },
                new[] { MotionguardFallbacks.LeftToes, MotionguardFallbacks.RightToes },
                MotionguardFallbacks.Optional,
            };
            foreach (var missing in cases)
            {
                string what = "fallback for " + string.Join("+", missing.Select(j => MotionguardProtocol.CanonicalJoints[j]).ToArray());
                var present = Enumerable.Repeat(true, MotionguardProtocol.JointCount).ToArray();
                var pose = (float[])unity.Clone();
                foreach (int j in missing)
                {
                    present[j] = false;
                    pose[j * 3] = pose[j * 3 + 1] = pose[j * 3 + 2] = float.NaN;
                }
                MotionguardFallbacks.Fill(pose, 0, present);
                for (int j = 0; j < MotionguardProtocol.JointCount; j++)
                {
                    float error = Dist2(pose, unity, j);
                    bool shoulder = j == MotionguardFallbacks.LeftShoulder || j == MotionguardFallbacks.RightShoulder;
                    Check.True(error <= (present[j] ? 0f : shoulder ? 0.01f : 1e-5f), what + ": " + MotionguardProtocol.CanonicalJoints[j] + " off by " + error + " m");
                }
                // A moved and turned body: the stand-ins move with it (constant bone lengths).
                var turned = Transform(unity, 0.7, 3f, 0.2f, -5f);
                var turnedPose = (float[])turned.Clone();
                foreach (int j in missing) turnedPose[j * 3] = turnedPose[j * 3 + 1] = turnedPose[j * 3 + 2] = float.NaN;
                MotionguardFallbacks.Fill(turnedPose, 0, present);
                MotionguardFallbacks.Fill(pose, 0, present);
                foreach (int j in missing)
                {
                    int parent = j == MotionguardFallbacks.Chest ? MotionguardFallbacks.Spine : j == MotionguardFallbacks.Neck ? MotionguardFallbacks.Head
                        : j == MotionguardFallbacks.LeftToes ? MotionguardFallbacks.LeftFoot : j == MotionguardFallbacks.RightToes ? MotionguardFallbacks.RightFoot
                        : j == MotionguardFallbacks.LeftShoulder ? MotionguardFallbacks.LeftUpperArm : MotionguardFallbacks.RightUpperArm;
                    Check.Near(Dist(pose, j, parent), Dist(turnedPose, j, parent), 1e-4, what + ": bone " + MotionguardProtocol.CanonicalJoints[j] + " keeps its length when the body turns");
                }
            }
        }

        private static float Dist2(float[] a, float[] b, int j)
        {
            float dx = a[j * 3] - b[j * 3], dy = a[j * 3 + 1] - b[j * 3 + 1], dz = a[j * 3 + 2] - b[j * 3 + 2];
            return (float)Math.Sqrt(dx * dx + dy * dy + dz * dz);
        }

        /// <summary>Rotates about Y by <paramref name="yaw"/> radians and translates.</summary>
        private static float[] Transform(float[] pose, double yaw, float tx, float ty, float tz)
        {
            var result = new float[pose.Length];
            float c = (float)Math.Cos(yaw), s = (float)Math.Sin(yaw);
            for (int j = 0; j < pose.Length / 3; j++)
            {
                float x = pose[j * 3], z = pose[j * 3 + 2];
                result[j * 3] = c * x + s * z + tx;
                result[j * 3 + 1] = pose[j * 3 + 1] + ty;
                result[j * 3 + 2] = -s * x + c * z + tz;
            }
            return result;
        }

        private static void Skeletons()
        {
            string problem;
            Check.True(MotionguardSkeleton.FromAnimator(null, out problem) == null && problem != null, "no animator");
            var generic = BuildRig("generic", j => RigPosition(j, 0, 0));
            generic.isHuman = false;
            Check.True(MotionguardSkeleton.FromAnimator(generic, out problem) == null && problem.Contains("humanoid"), "generic rig refused: " + problem);
            var noHand = BuildRig("nohand", j => RigPosition(j, 0, 0), HumanBodyBones.LeftHand);
            Check.True(MotionguardSkeleton.FromAnimator(noHand, out problem) == null && problem.Contains("LeftHand"), "a required bone missing: " + problem);
            var partial = BuildRig("partial", j => RigPosition(j, 0, 0), HumanBodyBones.Chest, HumanBodyBones.LeftToes, HumanBodyBones.RightShoulder);
            var skeleton = MotionguardSkeleton.FromAnimator(partial, out problem);
            Check.True(skeleton != null, "optional bones missing is fine: " + problem);
            Check.Equal("Chest,RightShoulder,LeftToes", string.Join(",", skeleton.FallbackJoints), "fallback joints listed");
            var pose = new float[MotionguardProtocol.ValuesPerFrame];
            Check.True(skeleton.WritePose(pose, 0, 1f), "pose with fallbacks");
            Check.True(pose.All(x => !float.IsNaN(x)), "fallback positions are finite");
            var full = MotionguardSkeleton.FromAnimator(BuildRig("full", j => RigPosition(j, 0, 0)), out problem);
            Check.Equal(0, full.FallbackJoints.Length, "a full rig needs no fallback");
            full.WritePose(pose, 0, 1f);
            bool converted = true;
            for (int j = 0; j < MotionguardProtocol.JointCount; j++)
            {
                var u = RigPosition(j, 0, 0);
                converted &= pose[j * 3] == u.x && pose[j * 3 + 1] == u.y && pose[j * 3 + 2] == -u.z;
            }
            Check.True(converted, "every joint converted (x, y, -z)");
            // A bone destroyed at runtime, or a NaN position, skips the frame instead of sending garbage.
            var rig = BuildRig("fragile", j => RigPosition(j, 0, 0));
            var fragile = MotionguardSkeleton.FromAnimator(rig, out problem);
            rig.GetBoneTransform(HumanBodyBones.Head).position = new Vector3(float.NaN, 0, 0);
            Check.True(!fragile.WritePose(pose, 0, 1f), "a NaN position skips the frame");
            rig.GetBoneTransform(HumanBodyBones.Head).position = new Vector3(0, 1, 0);
            Check.True(fragile.WritePose(pose, 0, 1f), "and recovers");
            UnityEngine.Object.Destroy(rig.GetBoneTransform(HumanBodyBones.Head).gameObject);
            Check.True(!fragile.WritePose(pose, 0, 1f), "a destroyed bone skips the frame");
        }

        private sealed class FixedSource : IMotionguardPoseSource
        {
            public string AvatarId { get; set; }
            public int Calls;
            public bool TryWritePose(float[] destination, int offset)
            {
                Calls++;
                for (int i = 0; i < MotionguardProtocol.ValuesPerFrame; i++) destination[offset + i] = i;
                return true;
            }
        }

        private static void Batching()
        {
            // Worst-case frame size stays under the bound the publisher splits by (300 + 3 per id character).
            var w = new MsgPackWriter();
            MotionguardProtocol.WriteFrame(w, new string('\u20ac', 128), long.MaxValue, long.MinValue, new float[63], 0);
            Check.True(w.Length <= 300 + 3 * 128, "worst-case frame of " + w.Length + " bytes within the bound");
            w.Clear();
            MotionguardProtocol.WriteFrame(w, "x", 0, 0, new float[63], 0);
            Check.True(w.Length <= 300 + 3, "small frame of " + w.Length + " bytes within the bound");

            // The fixed-rate clock, with nobody listening (a port that refuses): frames are sampled and counted as dropped.
            var options = new MotionguardConnectionOptions { InitialBackoff = TimeSpan.FromSeconds(5) };
            var publisher = new MotionguardPublisher("ws://127.0.0.1:9", 30, null, options);
            var a = new FixedSource { AvatarId = "a" };
            var b = new FixedSource { AvatarId = "b" };
            publisher.AddSource(a);
            publisher.AddSource(b);
            publisher.AddSource(a);
            Check.Equal(2, publisher.SourceCount, "a source is added once");
            Check.Equal(2, publisher.Pump(100.0), "first pump samples every source (tick 0)");
            Check.Equal(0L, publisher.LastSeq, "tick 0");
            Check.Equal(0, publisher.Pump(100.02), "no new tick 20 ms later");
            Check.Equal(2, publisher.Pump(100.0 + 1 / 30.0), "tick 1 exactly on time");
            Check.Equal(1L, publisher.LastSeq, "tick 1");
            Check.Equal(2, publisher.Pump(100.5), "a stall skips ticks");
            Check.Equal(15L, publisher.LastSeq, "seq follows time (tick 15 at 0.5 s)");
            Check.Equal(3, a.Calls, "each source sampled once per tick");
            Check.Equal(6L, publisher.FramesDropped, "frames sampled while disconnected are dropped, not queued");
            Check.Equal(0L, publisher.FramesSent, "nothing sent");
            publisher.RemoveSource(b);
            Check.Equal(1, publisher.Pump(101), "a removed source is not sampled");
            publisher.Dispose();
            Check.Throws<ArgumentOutOfRangeException>(() => new MotionguardPublisher("ws://127.0.0.1:9", 0), "fps 0");

            // Shared publishers: one per (server, fps), closed with the last release.
            var p1 = MotionguardPublisher.Acquire("ws://127.0.0.1:9", 30, null, options);
            var p2 = MotionguardPublisher.Acquire("127.0.0.1:9", 30);
            var p3 = MotionguardPublisher.Acquire("ws://127.0.0.1:9", 60);
            Check.True(ReferenceEquals(p1, p2), "same server and fps share a publisher");
            Check.True(!ReferenceEquals(p1, p3), "another fps gets its own");
            p1.Release();
            Check.True(p2.Connection.State != MotionguardConnectionState.Stopped, "still open while referenced");
            p2.Release();
            p3.Release();
            WaitUntil(() => p2.Connection.State == MotionguardConnectionState.Stopped);
            Check.Equal(MotionguardConnectionState.Stopped, p2.Connection.State, "closed after the last release");
            Check.True(!ReferenceEquals(p1, MotionguardPublisher.Acquire("ws://127.0.0.1:9", 30)), "a new one after the last release");
            MotionguardPublisher.ResetShared();
        }

        /// <summary>Polls until the condition holds or 10 s pass: background tasks may be slow on a loaded machine.</summary>
        private static void WaitUntil(Func<bool> condition)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!condition() && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(20);
        }

        private static void StreamerThroughStandIn()
        {
            UnityStandIn.PlayerLoop.Boot();
            var rig = BuildRig("standin-avatar", j => RigPosition(j, 0, 0), HumanBodyBones.Neck);
            rig.gameObject.SetActive(false);
            var streamer = rig.gameObject.AddComponent<MotionguardStreamer>();
            streamer.ServerUrl = "ws://127.0.0.1:9";
            rig.gameObject.SetActive(true);
            Check.True(streamer.Animator == rig, "the Animator on the same GameObject is found");
            Check.Equal("standin-avatar", streamer.AvatarId, "avatar id defaults to the GameObject's name");
            Check.Equal("Neck", string.Join(",", streamer.FallbackJoints), "fallback reported");
            Check.True(streamer.Publisher != null, "publisher acquired on enable");
            // 90 rendered frames per second for 2 s: 30 poses per second, whatever the frame rate.
            for (int i = 0; i < 180; i++) UnityStandIn.PlayerLoop.Frame(1 / 90.0);
            Check.True(Math.Abs(streamer.FramesSampled - 60) <= 1, "30 Hz at 90 fps: " + streamer.FramesSampled + " poses in 2 s");
            long before = streamer.FramesSampled;
            // 20 fps: one pose per rendered frame, seq skipping ahead with time.
            long seqBefore = streamer.Publisher.LastSeq;
            for (int i = 0; i < 40; i++) UnityStandIn.PlayerLoop.Frame(1 / 20.0);
            Check.Equal(40L, streamer.FramesSampled - before, "20 fps: one pose per frame");
            Check.True(Math.Abs(streamer.Publisher.LastSeq - seqBefore - 60) <= 1, "seq advances 30 per second at 20 fps: " + (streamer.Publisher.LastSeq - seqBefore));
            var publisher = streamer.Publisher;
            streamer.enabled = false;
            Check.True(streamer.Publisher == null, "released on disable");
            WaitUntil(() => publisher.Connection.State == MotionguardConnectionState.Stopped);
            Check.Equal(MotionguardConnectionState.Stopped, publisher.Connection.State, "the last streamer's disable closes the connection");
            streamer.enabled = true;
            Check.True(streamer.Publisher != null && streamer.Publisher != publisher, "re-enabled: a new connection");
            UnityEngine.Object.Destroy(rig.gameObject);
            Check.True(streamer.Publisher == null, "destroyed: released");

            // A rig that cannot stream logs and stays quiet (never throws into the game).
            var errors = new List<string>();
            var sink = Debug.Sink;
            Debug.Sink = (level, message) => { if (level == "error") errors.Add(message); };
            var generic = BuildRig("generic-avatar", j => RigPosition(j, 0, 0));
            generic.isHuman = false;
            generic.gameObject.AddComponent<MotionguardStreamer>();
            for (int i = 0; i < 5; i++) UnityStandIn.PlayerLoop.Frame(1 / 30.0);
            Debug.Sink = sink;
            Check.True(errors.Count == 1 && errors[0].Contains("humanoid"), "a generic rig logs one error: " + string.Join(" | ", errors.ToArray()));
            UnityEngine.Object.Destroy(generic.gameObject);

            // MotionguardAlerts raises its UnityEvents from Update (the thread that polls).
            var go = new GameObject("alerts");
            go.SetActive(false);
            var alerts = go.AddComponent<MotionguardAlerts>();
            alerts.ServerUrl = "ws://127.0.0.1:9";
            alerts.Subscribe(new[] { "x" }, "room/", true);
            go.SetActive(true);
            Check.True(alerts.Subscriber != null, "subscriber created on enable");
            Check.Equal("1 avatar(s) or prefix 'room/'", alerts.Subscriber.Subscription.ToString(), "subscription");
            UnityEngine.Object.Destroy(go);
            Check.True(alerts.Subscriber == null, "subscriber closed on destroy");
            MotionguardPublisher.ResetShared();
        }

        // ------------------------------------------------------------------ comparison

        private static bool IsInteger(object v)
        {
            return v is long || v is int || v is short || v is sbyte || v is byte || v is ushort || v is uint;
        }

        public static bool DeepEqual(object expected, object actual)
        {
            if (expected == null || actual == null) return expected == null && actual == null;
            if (IsInteger(expected) && IsInteger(actual)) return Convert.ToInt64(expected) == Convert.ToInt64(actual);
            if (expected is ulong || actual is ulong) return expected is ulong && actual is ulong && (ulong)expected == (ulong)actual;
            if (expected is double && actual is double) return BitConverter.DoubleToInt64Bits((double)expected) == BitConverter.DoubleToInt64Bits((double)actual);
            if (expected is float && actual is float) return ((float)expected).Equals((float)actual);
            if (expected is byte[] && actual is byte[]) return ((byte[])expected).SequenceEqual((byte[])actual);
            if (expected is string || actual is string) return expected is string && (string)expected == (string)actual;
            if (expected is bool || actual is bool) return expected is bool && actual is bool && (bool)expected == (bool)actual;
            var em = expected as IDictionary;
            if (em != null)
            {
                var am = actual as IDictionary;
                if (am == null || am.Count != em.Count) return false;
                // Same order too (maps are written in insertion order).
                var ek = new List<object>();
                foreach (DictionaryEntry e in em) ek.Add(e.Key);
                var ak = new List<object>();
                foreach (DictionaryEntry e in am) ak.Add(e.Key);
                for (int i = 0; i < ek.Count; i++)
                {
                    if (!Equals(ek[i], ak[i])) return false;
                    if (!DeepEqual(em[ek[i]], am[ak[i]])) return false;
                }
                return true;
            }
            var el = expected as IList;
            if (el != null)
            {
                var al = actual as IList;
                if (al == null || al.Count != el.Count) return false;
                for (int i = 0; i < el.Count; i++) if (!DeepEqual(el[i], al[i])) return false;
                return true;
            }
            var ee = expected as MsgPackExt;
            if (ee != null)
            {
                var ae = actual as MsgPackExt;
                return ae != null && ae.Type == ee.Type && ae.Data.SequenceEqual(ee.Data);
            }
            return expected.Equals(actual);
        }
    }
}
