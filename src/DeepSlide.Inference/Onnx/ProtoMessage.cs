using System.Buffers.Binary;
using System.Text;

namespace DeepSlide.Inference.Onnx;

public enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/// <summary>One field of a protobuf message as it lies on the wire: a varint or fixed value, or a byte slice.</summary>
public readonly record struct ProtoField(int Number, WireType Type, ulong Value, ReadOnlyMemory<byte> Bytes)
{
    public string Text => Encoding.UTF8.GetString(Bytes.Span);

    public ProtoMessage Message => ProtoMessage.Parse(Bytes);
}

/// <summary>
/// A protobuf message as an ordered list of wire fields. Parsing keeps slices of the input, so unknown and untouched
/// fields are written back byte for byte; only the fields a caller replaces are re-encoded.
/// </summary>
public sealed class ProtoMessage
{
    public ProtoMessage()
    {
    }

    private ProtoMessage(List<ProtoField> fields) => Fields = fields;

    public List<ProtoField> Fields { get; } = [];

    public static ProtoMessage Parse(ReadOnlyMemory<byte> data)
    {
        var fields = new List<ProtoField>();
        ReadOnlySpan<byte> span = data.Span;
        int position = 0;
        while (position < span.Length)
        {
            ulong key = ReadVarint(span, ref position);
            int number = (int)(key >> 3);
            var type = (WireType)(key & 7);
            switch (type)
            {
                case WireType.Varint:
                    fields.Add(new ProtoField(number, type, ReadVarint(span, ref position), default));
                    break;
                case WireType.Fixed64:
                    Need(span, position, 8);
                    fields.Add(new ProtoField(number, type, BinaryPrimitives.ReadUInt64LittleEndian(span[position..]), default));
                    position += 8;
                    break;
                case WireType.Fixed32:
                    Need(span, position, 4);
                    fields.Add(new ProtoField(number, type, BinaryPrimitives.ReadUInt32LittleEndian(span[position..]), default));
                    position += 4;
                    break;
                case WireType.LengthDelimited:
                    int length = checked((int)ReadVarint(span, ref position));
                    Need(span, position, length);
                    fields.Add(new ProtoField(number, type, 0, data.Slice(position, length)));
                    position += length;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {(int)type} for field {number}.");
            }
        }

        return new ProtoMessage(fields);
    }

    public IEnumerable<ProtoField> All(int number) => Fields.Where(f => f.Number == number);

    public ProtoField? First(int number)
    {
        foreach (ProtoField f in Fields)
        {
            if (f.Number == number)
            {
                return f;
            }
        }

        return null;
    }

    public IEnumerable<ProtoMessage> Messages(int number) => All(number).Select(f => f.Message);

    public string? String(int number) => First(number)?.Text;

    public long? Int(int number) => First(number) is ProtoField f ? (long)f.Value : null;

    public ProtoMessage Add(int number, ulong varint)
    {
        Fields.Add(new ProtoField(number, WireType.Varint, varint, default));
        return this;
    }

    public ProtoMessage Add(int number, string text) => Add(number, Encoding.UTF8.GetBytes(text));

    public ProtoMessage Add(int number, ReadOnlyMemory<byte> bytes)
    {
        Fields.Add(new ProtoField(number, WireType.LengthDelimited, 0, bytes));
        return this;
    }

    public ProtoMessage Add(int number, ProtoMessage message) => Add(number, message.ToBytes());

    public ProtoMessage AddFloat(int number, float value)
    {
        Fields.Add(new ProtoField(number, WireType.Fixed32, BitConverter.SingleToUInt32Bits(value), default));
        return this;
    }

    /// <summary>Replaces every field <paramref name="number"/> by the given messages, at the place of the first.</summary>
    public void Replace(int number, IEnumerable<ProtoMessage> messages)
    {
        int at = Fields.FindIndex(f => f.Number == number);
        Fields.RemoveAll(f => f.Number == number);
        at = at < 0 ? Fields.Count : Math.Min(at, Fields.Count);
        Fields.InsertRange(at, messages.Select(m => new ProtoField(number, WireType.LengthDelimited, 0, m.ToBytes())));
    }

    public byte[] ToBytes()
    {
        long size = 0;
        foreach (ProtoField f in Fields)
        {
            size += VarintSize(((ulong)f.Number << 3) | (uint)f.Type) + f.Type switch
            {
                WireType.Varint => VarintSize(f.Value),
                WireType.Fixed64 => 8,
                WireType.Fixed32 => 4,
                _ => VarintSize((ulong)f.Bytes.Length) + f.Bytes.Length,
            };
        }

        var buffer = new byte[size];
        int position = 0;
        foreach (ProtoField f in Fields)
        {
            WriteVarint(buffer, ref position, ((ulong)f.Number << 3) | (uint)f.Type);
            switch (f.Type)
            {
                case WireType.Varint:
                    WriteVarint(buffer, ref position, f.Value);
                    break;
                case WireType.Fixed64:
                    BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(position), f.Value);
                    position += 8;
                    break;
                case WireType.Fixed32:
                    BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(position), (uint)f.Value);
                    position += 4;
                    break;
                default:
                    WriteVarint(buffer, ref position, (ulong)f.Bytes.Length);
                    f.Bytes.Span.CopyTo(buffer.AsSpan(position));
                    position += f.Bytes.Length;
                    break;
            }
        }

        return buffer;
    }

    /// <summary>Packed repeated varints (proto3's default for repeated int64).</summary>
    public static byte[] PackVarints(IEnumerable<long> values)
    {
        var bytes = new List<byte>();
        foreach (long v in values)
        {
            ulong u = (ulong)v;
            while (u >= 0x80)
            {
                bytes.Add((byte)(u | 0x80));
                u >>= 7;
            }

            bytes.Add((byte)u);
        }

        return [.. bytes];
    }

    public static IEnumerable<long> UnpackVarints(ReadOnlyMemory<byte> packed)
    {
        int position = 0;
        var values = new List<long>();
        while (position < packed.Length)
        {
            values.Add((long)ReadVarint(packed.Span, ref position));
        }

        return values;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int position)
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            Need(span, position, 1);
            byte b = span[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("Malformed protobuf varint.");
    }

    private static void WriteVarint(Span<byte> buffer, ref int position, ulong value)
    {
        while (value >= 0x80)
        {
            buffer[position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[position++] = (byte)value;
    }

    private static int VarintSize(ulong value)
    {
        int size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private static void Need(ReadOnlySpan<byte> span, int position, int count)
    {
        if (position + count > span.Length)
        {
            throw new InvalidDataException("Truncated protobuf message.");
        }
    }
}
