// A small msgpack codec (https://github.com/msgpack/msgpack/blob/master/spec.md): the subset
// protocol v1 needs, with no dependencies. Writing picks the smallest encoding of each value,
// exactly as the server's @msgpack/msgpack does, so both sides produce the same bytes for the
// same integers, strings, bins, arrays and maps. Reading builds a tree of plain .NET values.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Motionguard
{
    /// <summary>Bytes that are not msgpack this codec can read, or a value it cannot write.</summary>
    public sealed class MsgPackException : Exception
    {
        public MsgPackException(string message) : base(message) { }
    }

    /// <summary>A msgpack extension value (type and raw payload), kept as it is.</summary>
    public sealed class MsgPackExt
    {
        public readonly sbyte Type;
        public readonly byte[] Data;

        public MsgPackExt(sbyte type, byte[] data)
        {
            Type = type;
            Data = data ?? throw new ArgumentNullException("data");
        }
    }

    /// <summary>Reinterprets float bits without unsafe code or allocation.</summary>
    [StructLayout(LayoutKind.Explicit)]
    internal struct FloatBits
    {
        [FieldOffset(0)] public float Float;
        [FieldOffset(0)] public uint UInt;
    }

    [StructLayout(LayoutKind.Explicit)]
    internal struct DoubleBits
    {
        [FieldOffset(0)] public double Double;
        [FieldOffset(0)] public ulong ULong;
    }

    /// <summary>
    /// Appends msgpack values to a growable buffer. Not thread-safe; reuse one per thread with
    /// <see cref="Clear"/> to avoid allocating per message.
    /// </summary>
    public sealed class MsgPackWriter
    {
        private const int MaxDepth = 64;
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);
        private byte[] buffer;
        private int length;

        public MsgPackWriter(int capacity = 256)
        {
            buffer = new byte[Math.Max(16, capacity)];
        }

        /// <summary>Bytes written so far.</summary>
        public int Length { get { return length; } }

        public void Clear() { length = 0; }

        public byte[] ToArray()
        {
            var copy = new byte[length];
            Buffer.BlockCopy(buffer, 0, copy, 0, length);
            return copy;
        }

        /// <summary>The written bytes without copying (valid until the next write or Clear).</summary>
        public ArraySegment<byte> AsSegment() { return new ArraySegment<byte>(buffer, 0, length); }

        public void WriteNil() { WriteByte(0xc0); }

        public void WriteBool(bool value) { WriteByte(value ? (byte)0xc3 : (byte)0xc2); }

        /// <summary>An integer in its smallest encoding (fixint, int8/16/32/64, uint8/16/32/64).</summary>
        public void WriteInt(long value)
        {
            if (value >= 0)
            {
                WriteUInt((ulong)value);
                return;
            }
            if (value >= -32)
            {
                WriteByte((byte)(sbyte)value);
            }
            else if (value >= sbyte.MinValue)
            {
                Ensure(2);
                buffer[length++] = 0xd0;
                buffer[length++] = (byte)(sbyte)value;
            }
            else if (value >= short.MinValue)
            {
                Ensure(3);
                buffer[length++] = 0xd1;
                PutBigEndian((ulong)(ushort)(short)value, 2);
            }
            else if (value >= int.MinValue)
            {
                Ensure(5);
                buffer[length++] = 0xd2;
                PutBigEndian((ulong)(uint)(int)value, 4);
            }
            else
            {
                Ensure(9);
                buffer[length++] = 0xd3;
                PutBigEndian((ulong)value, 8);
            }
        }

        public void WriteUInt(ulong value)
        {
            if (value < 0x80)
            {
                WriteByte((byte)value);
            }
            else if (value <= byte.MaxValue)
            {
                Ensure(2);
                buffer[length++] = 0xcc;
                buffer[length++] = (byte)value;
            }
            else if (value <= ushort.MaxValue)
            {
                Ensure(3);
                buffer[length++] = 0xcd;
                PutBigEndian(value, 2);
            }
            else if (value <= uint.MaxValue)
            {
                Ensure(5);
                buffer[length++] = 0xce;
                PutBigEndian(value, 4);
            }
            else
            {
                Ensure(9);
                buffer[length++] = 0xcf;
                PutBigEndian(value, 8);
            }
        }

        /// <summary>float 32 (0xca).</summary>
        public void WriteFloat(float value)
        {
            Ensure(5);
            buffer[length++] = 0xca;
            var bits = new FloatBits { Float = value };
            PutBigEndian(bits.UInt, 4);
        }

        /// <summary>float 64 (0xcb).</summary>
        public void WriteDouble(double value)
        {
            Ensure(9);
            buffer[length++] = 0xcb;
            var bits = new DoubleBits { Double = value };
            PutBigEndian(bits.ULong, 8);
        }

        /// <summary>
        /// A number as JavaScript's msgpack encoder writes one: whole numbers within +-(2^53 - 1) as
        /// integers, everything else (fractions, NaN, infinities) as float 64.
        /// </summary>
        public void WriteNumber(double value)
        {
            const double MaxSafe = 9007199254740991.0;
            if (Math.Floor(value) == value && value >= -MaxSafe && value <= MaxSafe)
                WriteInt((long)value);
            else
                WriteDouble(value);
        }

        /// <summary>A UTF-8 string; null writes nil.</summary>
        public void WriteString(string value)
        {
            if (value == null)
            {
                WriteNil();
                return;
            }
            int byteCount;
            try
            {
                byteCount = Utf8.GetByteCount(value);
            }
            catch (EncoderFallbackException)
            {
                throw new MsgPackException("string is not valid UTF-16 (lone surrogate)");
            }
            if (byteCount < 32)
            {
                Ensure(1 + byteCount);
                buffer[length++] = (byte)(0xa0 | byteCount);
            }
            else if (byteCount <= byte.MaxValue)
            {
                Ensure(2 + byteCount);
                buffer[length++] = 0xd9;
                buffer[length++] = (byte)byteCount;
            }
            else if (byteCount <= ushort.MaxValue)
            {
                Ensure(3 + byteCount);
                buffer[length++] = 0xda;
                PutBigEndian((ulong)byteCount, 2);
            }
            else
            {
                Ensure(5 + byteCount);
                buffer[length++] = 0xdb;
                PutBigEndian((ulong)byteCount, 4);
            }
            length += Utf8.GetBytes(value, 0, value.Length, buffer, length);
        }

        public void WriteBin(byte[] data)
        {
            if (data == null)
            {
                WriteNil();
                return;
            }
            WriteBin(data, 0, data.Length);
        }

        public void WriteBin(byte[] data, int offset, int count)
        {
            WriteBinHeader(count);
            Ensure(count);
            Buffer.BlockCopy(data, offset, buffer, length, count);
            length += count;
        }

        /// <summary>A bin header; the caller then writes exactly <paramref name="count"/> raw bytes.</summary>
        public void WriteBinHeader(int count)
        {
            if (count < 0) throw new ArgumentOutOfRangeException("count");
            if (count <= byte.MaxValue)
            {
                Ensure(2);
                buffer[length++] = 0xc4;
                buffer[length++] = (byte)count;
            }
            else if (count <= ushort.MaxValue)
            {
                Ensure(3);
                buffer[length++] = 0xc5;
                PutBigEndian((ulong)count, 2);
            }
            else
            {
                Ensure(5);
                buffer[length++] = 0xc6;
                PutBigEndian((ulong)count, 4);
            }
        }

        /// <summary>
        /// A bin of little-endian float32 values (the protocol's <c>joints</c>): 4 bytes per value,
        /// whatever the endianness of this machine.
        /// </summary>
        public void WriteFloat32LittleEndianBin(float[] values, int offset, int count)
        {
            WriteBinHeader(count * 4);
            Ensure(count * 4);
            for (int i = 0; i < count; i++)
            {
                var bits = new FloatBits { Float = values[offset + i] };
                uint u = bits.UInt;
                buffer[length++] = (byte)u;
                buffer[length++] = (byte)(u >> 8);
                buffer[length++] = (byte)(u >> 16);
                buffer[length++] = (byte)(u >> 24);
            }
        }

        public void WriteArrayHeader(int count)
        {
            if (count < 0) throw new ArgumentOutOfRangeException("count");
            if (count < 16)
            {
                WriteByte((byte)(0x90 | count));
            }
            else if (count <= ushort.MaxValue)
            {
                Ensure(3);
                buffer[length++] = 0xdc;
                PutBigEndian((ulong)count, 2);
            }
            else
            {
                Ensure(5);
                buffer[length++] = 0xdd;
                PutBigEndian((ulong)count, 4);
            }
        }

        public void WriteMapHeader(int count)
        {
            if (count < 0) throw new ArgumentOutOfRangeException("count");
            if (count < 16)
            {
                WriteByte((byte)(0x80 | count));
            }
            else if (count <= ushort.MaxValue)
            {
                Ensure(3);
                buffer[length++] = 0xde;
                PutBigEndian((ulong)count, 2);
            }
            else
            {
                Ensure(5);
                buffer[length++] = 0xdf;
                PutBigEndian((ulong)count, 4);
            }
        }

        public void WriteExt(sbyte type, byte[] data)
        {
            int n = data.Length;
            if (n == 1 || n == 2 || n == 4 || n == 8 || n == 16)
            {
                byte code = n == 1 ? (byte)0xd4 : n == 2 ? (byte)0xd5 : n == 4 ? (byte)0xd6 : n == 8 ? (byte)0xd7 : (byte)0xd8;
                Ensure(2);
                buffer[length++] = code;
            }
            else if (n <= byte.MaxValue)
            {
                Ensure(3);
                buffer[length++] = 0xc7;
                buffer[length++] = (byte)n;
            }
            else if (n <= ushort.MaxValue)
            {
                Ensure(4);
                buffer[length++] = 0xc8;
                PutBigEndian((ulong)n, 2);
            }
            else
            {
                Ensure(6);
                buffer[length++] = 0xc9;
                PutBigEndian((ulong)n, 4);
            }
            buffer[length++] = (byte)type;
            Ensure(n);
            Buffer.BlockCopy(data, 0, buffer, length, n);
            length += n;
        }

        /// <summary>
        /// Any supported value: null, bool, integers, float (float 32), double (float 64), string,
        /// byte[] (bin), MsgPackExt, IDictionary (map; keys written as values) and IEnumerable (array).
        /// </summary>
        public void WriteValue(object value)
        {
            WriteValue(value, 0);
        }

        private void WriteValue(object value, int depth)
        {
            if (depth > MaxDepth) throw new MsgPackException("value nested deeper than " + MaxDepth + " levels");
            if (value == null) { WriteNil(); return; }
            if (value is bool) { WriteBool((bool)value); return; }
            if (value is string) { WriteString((string)value); return; }
            if (value is byte[]) { WriteBin((byte[])value); return; }
            if (value is float) { WriteFloat((float)value); return; }
            if (value is double) { WriteDouble((double)value); return; }
            if (value is ulong) { WriteUInt((ulong)value); return; }
            if (value is long) { WriteInt((long)value); return; }
            if (value is int) { WriteInt((int)value); return; }
            if (value is uint) { WriteUInt((uint)value); return; }
            if (value is short) { WriteInt((short)value); return; }
            if (value is ushort) { WriteUInt((ushort)value); return; }
            if (value is sbyte) { WriteInt((sbyte)value); return; }
            if (value is byte) { WriteUInt((byte)value); return; }
            if (value is MsgPackExt) { var ext = (MsgPackExt)value; WriteExt(ext.Type, ext.Data); return; }
            var map = value as IDictionary;
            if (map != null)
            {
                WriteMapHeader(map.Count);
                foreach (DictionaryEntry entry in map)
                {
                    WriteValue(entry.Key, depth + 1);
                    WriteValue(entry.Value, depth + 1);
                }
                return;
            }
            var list = value as ICollection;
            if (list != null)
            {
                WriteArrayHeader(list.Count);
                foreach (var item in list) WriteValue(item, depth + 1);
                return;
            }
            throw new MsgPackException("cannot write a value of type " + value.GetType().FullName);
        }

        private void WriteByte(byte value)
        {
            Ensure(1);
            buffer[length++] = value;
        }

        private void PutBigEndian(ulong value, int bytes)
        {
            for (int i = bytes - 1; i >= 0; i--) buffer[length++] = (byte)(value >> (8 * i));
        }

        private void Ensure(int extra)
        {
            int needed = length + extra;
            if (needed <= buffer.Length) return;
            int size = buffer.Length;
            while (size < needed) size = size <= int.MaxValue / 2 ? size * 2 : int.MaxValue;
            Array.Resize(ref buffer, size);
        }
    }

    /// <summary>
    /// Reads msgpack into plain values: null, bool, long (every integer that fits; ulong above
    /// long.MaxValue), float (float 32), double (float 64), string, byte[] (bin),
    /// List&lt;object&gt; (array), Dictionary&lt;string, object&gt; (map; non-string keys are
    /// turned into their invariant-culture text) and MsgPackExt.
    /// </summary>
    public sealed class MsgPackReader
    {
        private const int MaxDepth = 64;
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, false);
        private readonly byte[] data;
        private readonly int end;
        private int position;

        public MsgPackReader(byte[] data) : this(data, 0, data == null ? 0 : data.Length) { }

        public MsgPackReader(byte[] data, int offset, int count)
        {
            if (data == null) throw new ArgumentNullException("data");
            if (offset < 0 || count < 0 || offset + count > data.Length) throw new ArgumentOutOfRangeException("count");
            this.data = data;
            position = offset;
            end = offset + count;
        }

        public int Position { get { return position; } }

        /// <summary>True once every byte has been read.</summary>
        public bool AtEnd { get { return position >= end; } }

        /// <summary>Decodes exactly one value that spans all of <paramref name="bytes"/>.</summary>
        public static object Decode(byte[] bytes)
        {
            return Decode(bytes, 0, bytes.Length);
        }

        public static object Decode(byte[] bytes, int offset, int count)
        {
            var reader = new MsgPackReader(bytes, offset, count);
            object value = reader.ReadValue();
            if (!reader.AtEnd) throw new MsgPackException((reader.end - reader.position) + " bytes after the value");
            return value;
        }

        public object ReadValue()
        {
            return ReadValue(0);
        }

        private object ReadValue(int depth)
        {
            if (depth > MaxDepth) throw new MsgPackException("data nested deeper than " + MaxDepth + " levels");
            byte code = ReadByte();
            if (code <= 0x7f) return (long)code;
            if (code >= 0xe0) return (long)(sbyte)code;
            if (code >= 0xa0 && code <= 0xbf) return ReadString(code & 0x1f);
            if (code >= 0x90 && code <= 0x9f) return ReadArray(code & 0x0f, depth);
            if (code >= 0x80 && code <= 0x8f) return ReadMap(code & 0x0f, depth);
            switch (code)
            {
                case 0xc0: return null;
                case 0xc2: return false;
                case 0xc3: return true;
                case 0xc4: return ReadBytes((int)ReadBigEndian(1));
                case 0xc5: return ReadBytes((int)ReadBigEndian(2));
                case 0xc6: return ReadBytes(CheckedLength(ReadBigEndian(4)));
                case 0xc7: return ReadExt(CheckedLength(ReadBigEndian(1)));
                case 0xc8: return ReadExt(CheckedLength(ReadBigEndian(2)));
                case 0xc9: return ReadExt(CheckedLength(ReadBigEndian(4)));
                case 0xca: return new FloatBits { UInt = (uint)ReadBigEndian(4) }.Float;
                case 0xcb: return new DoubleBits { ULong = ReadBigEndian(8) }.Double;
                case 0xcc: return (long)ReadBigEndian(1);
                case 0xcd: return (long)ReadBigEndian(2);
                case 0xce: return (long)ReadBigEndian(4);
                case 0xcf:
                {
                    ulong u = ReadBigEndian(8);
                    if (u <= long.MaxValue) return (long)u;
                    return u;
                }
                case 0xd0: return (long)(sbyte)ReadBigEndian(1);
                case 0xd1: return (long)(short)ReadBigEndian(2);
                case 0xd2: return (long)(int)ReadBigEndian(4);
                case 0xd3: return (long)ReadBigEndian(8);
                case 0xd4: return ReadExt(1);
                case 0xd5: return ReadExt(2);
                case 0xd6: return ReadExt(4);
                case 0xd7: return ReadExt(8);
                case 0xd8: return ReadExt(16);
                case 0xd9: return ReadString((int)ReadBigEndian(1));
                case 0xda: return ReadString((int)ReadBigEndian(2));
                case 0xdb: return ReadString(CheckedLength(ReadBigEndian(4)));
                case 0xdc: return ReadArray((int)ReadBigEndian(2), depth);
                case 0xdd: return ReadArray(CheckedLength(ReadBigEndian(4)), depth);
                case 0xde: return ReadMap((int)ReadBigEndian(2), depth);
                case 0xdf: return ReadMap(CheckedLength(ReadBigEndian(4)), depth);
                default: throw new MsgPackException("byte 0x" + code.ToString("x2") + " at " + (position - 1) + " is not a msgpack type (0xc1 is never used)");
            }
        }

        private List<object> ReadArray(int count, int depth)
        {
            // Every element takes at least one byte: a count beyond the data left is corrupt, not a reason to allocate.
            if (count > end - position) throw new MsgPackException("array of " + count + " elements overruns the data");
            var list = new List<object>(count);
            for (int i = 0; i < count; i++) list.Add(ReadValue(depth + 1));
            return list;
        }

        private Dictionary<string, object> ReadMap(int count, int depth)
        {
            if (count > (end - position) / 2) throw new MsgPackException("map of " + count + " entries overruns the data");
            var map = new Dictionary<string, object>(count);
            for (int i = 0; i < count; i++)
            {
                object key = ReadValue(depth + 1);
                string name = key as string ?? Convert.ToString(key, CultureInfo.InvariantCulture) ?? "";
                map[name] = ReadValue(depth + 1);
            }
            return map;
        }

        private string ReadString(int count)
        {
            Require(count);
            string text = Utf8.GetString(data, position, count);
            position += count;
            return text;
        }

        private byte[] ReadBytes(int count)
        {
            Require(count);
            var bytes = new byte[count];
            Buffer.BlockCopy(data, position, bytes, 0, count);
            position += count;
            return bytes;
        }

        private MsgPackExt ReadExt(int count)
        {
            sbyte type = (sbyte)ReadByte();
            return new MsgPackExt(type, ReadBytes(count));
        }

        private byte ReadByte()
        {
            Require(1);
            return data[position++];
        }

        private ulong ReadBigEndian(int bytes)
        {
            Require(bytes);
            ulong value = 0;
            for (int i = 0; i < bytes; i++) value = (value << 8) | data[position++];
            return value;
        }

        private int CheckedLength(ulong length)
        {
            if (length > int.MaxValue) throw new MsgPackException("length " + length + " is too large");
            return (int)length;
        }

        private void Require(int count)
        {
            if (count < 0 || end - position < count) throw new MsgPackException("truncated data: " + count + " bytes needed at " + position + ", " + (end - position) + " left");
        }
    }

    /// <summary>Typed access to the values <see cref="MsgPackReader"/> returns.</summary>
    public static class MsgPackValue
    {
        /// <summary>Any msgpack number (int or float; the server writes whole numbers as ints).</summary>
        public static bool TryGetDouble(object value, out double result)
        {
            if (value is long) { result = (long)value; return true; }
            if (value is double) { result = (double)value; return true; }
            if (value is float) { result = (float)value; return true; }
            if (value is ulong) { result = (ulong)value; return true; }
            if (value is int) { result = (int)value; return true; }
            result = 0;
            return false;
        }

        /// <summary>An integer, or a float holding a whole number.</summary>
        public static bool TryGetLong(object value, out long result)
        {
            if (value is long) { result = (long)value; return true; }
            if (value is int) { result = (int)value; return true; }
            double d;
            if ((value is double || value is float) && TryGetDouble(value, out d) && Math.Floor(d) == d && d >= long.MinValue && d <= long.MaxValue)
            {
                result = (long)d;
                return true;
            }
            result = 0;
            return false;
        }

        public static string GetString(IDictionary<string, object> map, string key, string fallback = null)
        {
            object value;
            return map.TryGetValue(key, out value) && value is string ? (string)value : fallback;
        }

        public static double GetDouble(IDictionary<string, object> map, string key, double fallback = double.NaN)
        {
            object value;
            double d;
            return map.TryGetValue(key, out value) && TryGetDouble(value, out d) ? d : fallback;
        }

        public static long GetLong(IDictionary<string, object> map, string key, long fallback = 0)
        {
            object value;
            long l;
            return map.TryGetValue(key, out value) && TryGetLong(value, out l) ? l : fallback;
        }

        public static bool GetBool(IDictionary<string, object> map, string key, bool fallback = false)
        {
            object value;
            return map.TryGetValue(key, out value) && value is bool ? (bool)value : fallback;
        }

        public static IDictionary<string, object> GetMap(IDictionary<string, object> map, string key)
        {
            object value;
            return map.TryGetValue(key, out value) ? value as IDictionary<string, object> : null;
        }

        public static IList<object> GetList(IDictionary<string, object> map, string key)
        {
            object value;
            return map.TryGetValue(key, out value) ? value as IList<object> : null;
        }
    }
}
