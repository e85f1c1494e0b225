using System.Buffers;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace DeepSlide.Pipeline.Local;

/// <summary>A blob the listing found with its ETag; or, with a null ETag, the readable start of a name Azurite cannot list.</summary>
public sealed record ListedSlide(string Name, string? ETag);

/// <summary>
/// Lists the slides container whole even where Azurite cannot. Azure sends a name holding a character XML cannot carry
/// (a control character) percent-encoded; Azurite answers the whole listing page with a 500, and any listing whose
/// prefix or marker holds that character too, as it echoes them. So a failing page is narrowed to the good names
/// before the bad one, the bad name's readable start is read character by character from listings bounded by prefix
/// and marker (Azurite's marker is the last name returned, and it lists names greater than it), and listing goes on
/// from a marker past it. The name can then be refused with a Failed run, and the names after it are still listed.
/// </summary>
public sealed class SlideListing(BlobContainerClient container)
{
    private const int PageSize = 1000;

    private const int MaxUnlistable = 100;

    // XML 1.0's characters among UTF-16 code units, in order: tab, line feed, carriage return, U+0020 to U+D7FF and
    // U+E000 to U+FFFD. Surrogates are left out: they can't travel alone in a URL, so an unlistable name beyond the
    // BMP is read only up to that character.
    private const int Searchable = 3 + (0xD800 - 0x20) + (0xFFFE - 0xE000);

    private static readonly SearchValues<char> XmlCharacters = SearchValues.Create(Enumerable.Range(0, Searchable).Select(Character).ToArray());

    // Keyed by the marker a failing page started from: what was found after it.
    private readonly Dictionary<string, (string Readable, string Skip)> _unlistable = new(StringComparer.Ordinal);

    /// <summary>A client for <paramref name="container"/> that does not retry: a 500 here is an answer, not a fault.</summary>
    public static BlobContainerClient Probing(string connectionString, string container) =>
        new(connectionString, container, new BlobClientOptions { Retry = { MaxRetries = 0 } });

    /// <summary>
    /// The start of <paramref name="name"/> a listing can carry: everything before its first character XML 1.0 does
    /// not allow; the whole name when it has none.
    /// </summary>
    public static string Readable(string name)
    {
        int at = name.AsSpan().IndexOfAnyExcept(XmlCharacters);
        return at < 0 ? name : name[..at];
    }

    public async IAsyncEnumerable<ListedSlide> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string marker = string.Empty;
        int unlistable = 0;
        while (true)
        {
            (IReadOnlyList<BlobItem>? items, string? next) = await PageAsync(string.Empty, marker, PageSize, cancellationToken);
            if (items is null)
            {
                // Take the longest run of good names first, then the name that breaks the page.
                int good = await GoodPrefixAsync(marker, cancellationToken);
                if (good > 0)
                {
                    (items, _) = await PageAsync(string.Empty, marker, good, cancellationToken);
                    foreach (BlobItem item in items!)
                    {
                        yield return Listed(item);
                    }

                    marker = items[^1].Name;
                }

                (string readable, string skip) = await UnlistableAfterAsync(marker, cancellationToken);
                if (string.CompareOrdinal(skip, marker) <= 0 || ++unlistable > MaxUnlistable)
                {
                    throw new InvalidOperationException($"listing the '{container.Name}' container keeps failing after '{SlideBlobName.Printable(marker)}'.");
                }

                yield return new ListedSlide(readable, null);

                // The skip marker is exclusive: a blob named exactly that would be passed over.
                if (await ETagAsync(skip, cancellationToken) is string etag)
                {
                    yield return new ListedSlide(skip, etag);
                }

                marker = skip;
                continue;
            }

            foreach (BlobItem item in items)
            {
                yield return Listed(item);
            }

            if (string.IsNullOrEmpty(next))
            {
                yield break;
            }

            marker = next;
        }
    }

    // Listings give ETags bare; the pipeline passes them quoted, as a blob's properties give them.
    private static ListedSlide Listed(BlobItem item) => new(item.Name, item.Properties.ETag?.ToString("H") ?? string.Empty);

    /// <summary>How many names after <paramref name="marker"/> list (fewer than a page: the next one does not).</summary>
    private async Task<int> GoodPrefixAsync(string marker, CancellationToken cancellationToken)
    {
        int good = 0, bad = PageSize;
        while (bad - good > 1)
        {
            int mid = (good + bad) / 2;
            if ((await PageAsync(string.Empty, marker, mid, cancellationToken)).Items is null)
            {
                bad = mid;
            }
            else
            {
                good = mid;
            }
        }

        return good;
    }

    /// <summary>
    /// The blob right after <paramref name="marker"/>, which Azurite cannot list: the readable start of its name, and a
    /// marker past every name that starts the same way and breaks at the same place.
    /// </summary>
    private async Task<(string Readable, string Skip)> UnlistableAfterAsync(string marker, CancellationToken cancellationToken)
    {
        if (_unlistable.TryGetValue(marker, out var known)
            && await FailsAfterAsync(known.Readable, marker, 0, cancellationToken) == (string.CompareOrdinal(known.Readable + Character(0), known.Skip) < 0))
        {
            return known;
        }

        // Character by character: with the name's readable start p known, a listing of names under p after
        // max(marker, p + c) fails while p + c comes before the name.
        string readable = string.Empty;
        while (readable.Length <= SlideBlobName.MaxLength)
        {
            (string, string) found;
            if (!await FailsAfterAsync(readable, marker, 0, cancellationToken))
            {
                // The next character sorts before every one XML carries.
                found = (readable, readable + Character(0));
            }
            else
            {
                int low = 0, high = Searchable;
                while (high - low > 1)
                {
                    int mid = (low + high) / 2;
                    if (await FailsAfterAsync(readable, marker, mid, cancellationToken))
                    {
                        low = mid;
                    }
                    else
                    {
                        high = mid;
                    }
                }

                if ((await PageAsync(readable + Character(low), marker, 1, cancellationToken)).Items is null)
                {
                    readable += Character(low);
                    continue;
                }

                if (low + 1 >= Searchable)
                {
                    break;
                }

                // The next character lies between two that XML carries.
                found = (readable, readable + Character(low + 1));
            }

            // A failure that does not come back (Azurite busy, a blob mid-upload) is no unlistable name: the caller
            // lists again later instead of refusing a name that is not there.
            if ((await PageAsync(found.Item1, marker, 1, cancellationToken)).Items is not null)
            {
                throw new InvalidOperationException($"listing the '{container.Name}' container failed once and then listed; it is tried again.");
            }

            _unlistable[marker] = found;
            return found;
        }

        throw new InvalidOperationException($"listing the '{container.Name}' container fails after '{SlideBlobName.Printable(marker)}' for a reason other than a blob name.");
    }

    private static char Character(int index) => index switch
    {
        0 => '\t',
        1 => '\n',
        2 => '\r',
        < 3 + (0xD800 - 0x20) => (char)(index - 3 + 0x20),
        _ => (char)(index - 3 - (0xD800 - 0x20) + 0xE000),
    };

    private async Task<bool> FailsAfterAsync(string prefix, string marker, int index, CancellationToken cancellationToken)
    {
        string bound = prefix + Character(index);
        return (await PageAsync(prefix, string.CompareOrdinal(bound, marker) > 0 ? bound : marker, 1, cancellationToken)).Items is null;
    }

    private async Task<string?> ETagAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return (await container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ETag.ToString("H");
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    private async Task<(IReadOnlyList<BlobItem>? Items, string? Next)> PageAsync(string prefix, string marker, int size, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (Page<BlobItem> page in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).AsPages(marker.Length == 0 ? null : marker, size))
            {
                return (page.Values, page.ContinuationToken);
            }

            return ([], null);
        }
        catch (Exception ex) when (ex is RequestFailedException { Status: >= 500 } or System.Xml.XmlException)
        {
            return (null, null);
        }
    }
}
