// Test program for clients/unity, compiled with mcs together with Runtime/*.cs and the
// UnityEngine stand-in (test/clients-unity.test.ts does this and runs every mode):
//
//   mono MotionguardTests.exe unit DIR          codec, protocol, axes, fallbacks, stand-in streamer;
//                                               reads DIR/js-*.msgpack, writes DIR/csharp-*.msgpack
//   mono MotionguardTests.exe stream ARGS       streams a motion file through MotionguardStreamer to a
//                                               real server, MotionguardAlerts listening; JSON lines out
//   mono MotionguardTests.exe reconnect ARGS    the same, looping, until "quit" on stdin (the test
//                                               restarts the server meanwhile)
//
// Exit code 0 when every check passed; the JSON lines on stdout are for the vitest test.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MotionguardTests
{
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine("usage: MotionguardTests.exe unit DIR | stream --url URL --motion FILE | reconnect --url URL --motion FILE");
                return 2;
            }
            try
            {
                switch (args[0])
                {
                    case "unit": return UnitTests.Run(args.Length > 1 ? args[1] : ".");
                    case "stream": return StreamRun.Run(Options.Parse(args, 1), false);
                    case "reconnect": return StreamRun.Run(Options.Parse(args, 1), true);
                    default:
                        Console.Error.WriteLine("unknown mode '" + args[0] + "'");
                        return 2;
                }
            }
            catch (Exception error)
            {
                Console.Error.WriteLine("FAILED: " + error);
                return 1;
            }
        }
    }

    public sealed class Options
    {
        private readonly Dictionary<string, string> values = new Dictionary<string, string>();

        public static Options Parse(string[] args, int start)
        {
            var options = new Options();
            for (int i = start; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length) throw new ArgumentException("expected --name value, got '" + args[i] + "'");
                options.values[args[i].Substring(2)] = args[++i];
            }
            return options;
        }

        public string Get(string name, string fallback = null)
        {
            string value;
            if (values.TryGetValue(name, out value)) return value;
            if (fallback == null) throw new ArgumentException("--" + name + " is required");
            return fallback;
        }

        public double GetDouble(string name, double fallback)
        {
            return double.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Counts failed checks and says what failed.</summary>
    public static class Check
    {
        public static int Passed;
        public static int Failed;

        public static void True(bool condition, string what)
        {
            if (condition)
            {
                Passed++;
                return;
            }
            Failed++;
            Console.Error.WriteLine("CHECK FAILED: " + what);
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            True(EqualityComparer<T>.Default.Equals(expected, actual), what + ": expected " + Show(expected) + ", got " + Show(actual));
        }

        public static void Near(double expected, double actual, double tolerance, string what)
        {
            True(Math.Abs(expected - actual) <= tolerance, what + ": expected " + expected.ToString("R", CultureInfo.InvariantCulture) + " +- " + tolerance + ", got " + actual.ToString("R", CultureInfo.InvariantCulture));
        }

        public static void Throws<TException>(Action action, string what) where TException : Exception
        {
            try
            {
                action();
            }
            catch (TException)
            {
                Passed++;
                return;
            }
            catch (Exception other)
            {
                True(false, what + ": threw " + other.GetType().Name + " (" + other.Message + ") instead of " + typeof(TException).Name);
                return;
            }
            True(false, what + ": did not throw " + typeof(TException).Name);
        }

        public static string Show(object value)
        {
            if (value == null) return "null";
            if (value is string) return "\"" + value + "\"";
            if (value is byte[]) return "bin[" + ((byte[])value).Length + "]";
            if (value is double) return ((double)value).ToString("R", CultureInfo.InvariantCulture) + " (double)";
            if (value is float) return ((float)value).ToString("R", CultureInfo.InvariantCulture) + " (float)";
            if (value is IDictionary) return "map[" + ((IDictionary)value).Count + "]";
            if (value is ICollection) return "array[" + ((ICollection)value).Count + "]";
            return Convert.ToString(value, CultureInfo.InvariantCulture) + " (" + value.GetType().Name + ")";
        }
    }

    /// <summary>Just enough JSON writing for the event lines.</summary>
    public static class Json
    {
        /// <summary>An object from alternating keys and values (string, bool, numbers, null, string[], object[], or Raw).</summary>
        public static string Obj(params object[] pairs)
        {
            var sb = new StringBuilder("{");
            for (int i = 0; i + 1 < pairs.Length; i += 2)
            {
                if (i > 0) sb.Append(',');
                Value(sb, (string)pairs[i]);
                sb.Append(':');
                Value(sb, pairs[i + 1]);
            }
            return sb.Append('}').ToString();
        }

        public sealed class Raw
        {
            public readonly string Text;
            public Raw(string text) { Text = text; }
        }

        private static void Value(StringBuilder sb, object value)
        {
            if (value == null) { sb.Append("null"); return; }
            if (value is Raw) { sb.Append(((Raw)value).Text); return; }
            if (value is bool) { sb.Append((bool)value ? "true" : "false"); return; }
            if (value is string)
            {
                sb.Append('"');
                foreach (char c in (string)value)
                {
                    if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                    else if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                    else sb.Append(c);
                }
                sb.Append('"');
                return;
            }
            if (value is double || value is float)
            {
                double d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsNaN(d) || double.IsInfinity(d)) sb.Append("null");
                else sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                return;
            }
            if (value is IEnumerable)
            {
                sb.Append('[');
                bool first = true;
                foreach (var item in (IEnumerable)value)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Value(sb, item);
                }
                sb.Append(']');
                return;
            }
            sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
        }
    }
}
