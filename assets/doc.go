// Package assets stores Atelier's media: uploads, transcodes, subtitles.
//
// Store has two backends: Dir, files on a local disk (the embedded default),
// and S3, any S3 server through minio-go. Both pass the same contract tests.
//
// # Keys
//
// Keys are made by Atelier, never taken from user file names, and every
// method checks them with ValidKey: "/"-separated, no empty, "." or ".."
// segment, no NUL, backslash or control character, at most 1024 bytes. A
// first segment starting with "." is reserved for the stores' own
// bookkeeping (".meta/", ".tmp/"), which List never shows.
//
// # Visibility
//
// An object is visible only once complete, and a reader never pairs the
// bytes of one version with the description of another:
//
//   - Dir streams into root/.tmp/, fsyncs, and commits with a rename into
//     root/<key> followed by an fsync of the directory. A failed or cancelled
//     Put removes its temp file; one that crashed leaves it in .tmp, where
//     NewDir removes it a day later.
//   - S3 relies on S3's own atomicity: a single PUT or a multipart upload
//     becomes an object only when complete, and a multipart upload that
//     fails or is cancelled is aborted. If the server itself dies mid-upload
//     the abort cannot reach it: the parts stay, invisible, until the
//     bucket's AbortIncompleteMultipartUpload lifecycle rule (recommended)
//     or an operator removes them.
//
// # SHA-256 sidecars
//
// Put hashes the stream as it passes (the hash is never computed by reading
// the object again; on S3 a goroutine of its own hashes the part buffers
// while they are sent) and records it, with the content type and size, in a
// small JSON sidecar under .meta/, named by the SHA-256 of the key (so it
// has a fixed length whatever the key). The sidecar also names the exact data
// it describes — for Dir the data file's inode, size and mtime, for S3 the
// object's ETag and size — and an object without a matching sidecar is not
// visible:
//
//   - Dir writes the sidecar before renaming the data file; both renames
//     happen under a per-key lock that readers take too, so readers see
//     either version whole. A crash between the two renames hides the key
//     until it is put again, instead of showing it with a wrong hash.
//   - S3 can only know the hash once the last part is up, and object
//     metadata is fixed when an upload starts, so the sidecar is a separate
//     object written after the data: it is the commit record. Reads fetch
//     the data with If-Match on the sidecar's ETag. While an overwrite is
//     between its data and its sidecar the key reads as missing (readers
//     retry for about half a second first); Delete removes the sidecar first.
//
// # Memory
//
// An S3 Put of unknown size holds 5 parts in memory (S3Config.PartSize,
// 8 MiB by default): 4 sent in parallel while the next one fills; the part
// size is set explicitly on every upload because minio-go's own default for
// a stream of unknown size is a part of about 576 MiB. A part of 8 MiB allows objects
// of up to 80 GiB (10,000 parts); set PartSize higher for larger ones. A body of unknown size that ends within
// its first MiB goes up in a single PUT. Dir copies through a 256 KiB buffer.
//
// # Payload signing
//
// Data parts go up as UNSIGNED-PAYLOAD, over http as over https (where
// minio-go does so anyway): over http minio-go would otherwise sign every
// 64 KiB chunk, a second SHA-256 of every byte here and a third in the S3
// server. The requests stay signed; the bytes are as safe on the path as
// those of any GET, whose answers are never signed: reach a store on an
// untrusted network over https.
//
// # Leftovers of a crash
//
// A process killed mid-Put leaves what no key names: a temp file in Dir's
// .tmp/, an unfinished multipart upload in S3 (invisible, but its parts are
// stored). Both stores are StaleRemovers: RemoveStale removes such leftovers
// untouched since a given time, never those of a Put in progress in this
// process. The pipeline calls it periodically (-sweep-interval, -sweep-age).
// On S3 a bucket lifecycle rule AbortIncompleteMultipartUpload does the same
// server-side (README, "Storing media in S3").
//
// # Links
//
// URL gives a link a browser can fetch without credentials: for S3 a
// presigned GET, for Dir {publicURL}/media/{key}?expires=&sig= with an
// HMAC-SHA256 of key + "\n" + expires, which Dir.ServeHTTP checks before
// serving the file with http.ServeContent (ranges, conditional requests,
// the SHA-256 as ETag).
package assets
