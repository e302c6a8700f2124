package media

import "context"

// ProbeStreams describes the format and the streams of the media file at path in one ffprobe
// run: ProbeFile without its scan of the first minute's packets, so VFR is set only when the
// stream's rates tell it and OpenGOP never is. For a caller that needs the duration, the picture
// and the frame rate only: the upload's checks (issue #12 §3: the scan was a second ffprobe
// run in the request, 0.3 s of CPU and up to 3 s of wall time on a loaded machine), whose job
// probes the whole source again before it cuts. Errors as ProbeFile's.
func ProbeStreams(ctx context.Context, path string) (Probe, error) {
	return probeStreams(ctx, path)
}
