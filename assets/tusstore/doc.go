// Package tusstore keeps resumable uploads (the tus 1.0 protocol, served by tusd's handler) in
// Atelier's media storage, and turns a finished one into a media object without copying it
// through this process.
//
// Store is a tusd data store over either backend of package assets: on a Dir the upload is a
// file in root/.uploads/ that each PATCH appends to, and Take renames it into place; on S3 it is
// a multipart upload under ".uploads/" whose parts go up several at a time as a PATCH streams
// in, and Take copies it server-side. Neither holds a whole upload in memory: a Dir PATCH goes
// through a 1 MiB buffer, an S3 one through PartThreads+1 part buffers.
//
// The state of each upload (its size, metadata, owner, expiry, and the running SHA-256 of its
// bytes) is stored beside its data, so uploads survive a restart of the server; the offset is
// read from the data itself (the file's size, the S3 parts), never trusted from the state. An
// upload that receives no byte for a day (Config.Expiry) expires: it answers 404 at once and
// RemoveExpired, run periodically by the server, removes it.
//
// The route that serves Handler is in cmd/atelier/routes.go; turning an upload into a recording
// is pipeline's POST /api/recordings with {"upload": id}.
package tusstore
