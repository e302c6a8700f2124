// Package layout knows where Atelier keeps a recording and its replay in storage; everyone else
// asks it instead of spelling keys.
//
//	recordings/{id}/source                              the uploaded original, untouched
//	recordings/{id}/subtitles/{lang}.{srt|vtt|ass|...}  a subtitle track as sent, source time
//	recordings/{id}/subtitles/{lang}.auto.vtt           an automatic caption draft, source time
//	replays/{id}/video.mp4, poster.jpg, storyboard.*,   the rendered outputs (pipeline/media.Render
//	  chapters.vtt, hls/...                             writes them under the same relative names)
//	replays/{id}/subtitles/{lang}.vtt                   a published track, replay time
//	replays/{id}/hls/subs/{lang}/...                    its HLS rendition
//	replays/{id}/burnin/{lang}.mp4                      the rendition with subtitles burned in
//	replays/{id}/audio.m4a                              the audio-only rendition (reserved)
//
// It sits under assets and imports nothing, so that web, pipeline and pipeline/subtitle (and
// assets itself) can all use it without any import running back up: the catalog would be the
// other natural home, but the catalog stores no file and web/subtitle would depend on it only for
// key spelling.
package layout

import "strings"

const (
	recordingsDir = "recordings/"
	replaysDir    = "replays/"
)

// Recording is the storage layout of an upload: what the animator sent, before any cut.
type Recording string

// Prefix is the key prefix of everything stored for the recording: "recordings/{id}/".
func (r Recording) Prefix() string { return recordingsDir + string(r) + "/" }

// SourceKey is the uploaded original.
func (r Recording) SourceKey() string { return r.Prefix() + "source" }

// SubtitlePrefix is the key prefix of the recording's source-time subtitle tracks.
func (r Recording) SubtitlePrefix() string { return r.Prefix() + "subtitles/" }

// SubtitleKey is a source-time track; ext is ".srt", ".vtt", ".ass", ".ssa", ".ttml" or
// ".auto.vtt".
func (r Recording) SubtitleKey(lang, ext string) string { return r.SubtitlePrefix() + lang + ext }

// RecordingsPrefix is the key prefix of every recording.
const RecordingsPrefix = recordingsDir

// RecordingOf returns the recording a key under RecordingsPrefix belongs to.
func RecordingOf(key string) (Recording, bool) {
	id, _, ok := strings.Cut(strings.TrimPrefix(key, recordingsDir), "/")
	if !ok || id == "" || !strings.HasPrefix(key, recordingsDir) {
		return "", false
	}
	return Recording(id), true
}

// Replay is the storage layout of a replay: the rendered outputs of a recording (same id).
type Replay string

// Prefix is the key prefix of every output of the replay: "replays/{id}/".
func (r Replay) Prefix() string { return replaysDir + string(r) + "/" }

// Key is the output at rel, a path relative to Prefix as pipeline/media.Render names its files.
func (r Replay) Key(rel string) string { return r.Prefix() + rel }

// VideoKey is the progressive MP4.
func (r Replay) VideoKey() string { return r.Key("video.mp4") }

// PosterKey is the still shown before playback.
func (r Replay) PosterKey() string { return r.Key("poster.jpg") }

// HLSKey is a file of the HLS ladder; path is relative to hls/ ("master.m3u8", "720p/init.mp4").
func (r Replay) HLSKey(path string) string { return r.Key("hls/" + path) }

// SubtitleKey is the published WebVTT of a track, in replay time.
func (r Replay) SubtitleKey(lang string) string { return r.SubtitlePrefix() + lang + ".vtt" }

// SubtitlePrefix is the key prefix of the published tracks; the subtitle step owns it (a render
// leaves it alone).
func (r Replay) SubtitlePrefix() string { return r.Key("subtitles/") }

// SubtitleHLSPrefix is the key prefix of a track's HLS rendition.
func (r Replay) SubtitleHLSPrefix(lang string) string { return r.HLSKey(SubtitleHLSDir(lang)) }

// SubtitleHLSDir is where a track's HLS rendition lives relative to hls/, as the master playlist
// names it.
func SubtitleHLSDir(lang string) string { return "subs/" + lang + "/" }

// BurnInRel is the burned-in rendition of lang relative to Prefix: where the render writes it.
func BurnInRel(lang string) string { return "burnin/" + lang + ".mp4" }

// BurnInKey is the MP4 with the subtitles of lang burned into the picture.
func (r Replay) BurnInKey(lang string) string { return r.Key(BurnInRel(lang)) }

// BurnInLang tells whether key is a burned-in rendition of the replay, and its language.
func (r Replay) BurnInLang(key string) (string, bool) {
	rel, ok := strings.CutPrefix(key, r.Key("burnin/"))
	if !ok {
		return "", false
	}
	lang, ok := strings.CutSuffix(rel, ".mp4")
	return lang, ok && lang != "" && !strings.Contains(lang, "/")
}

// AudioKey is the audio-only rendition (AAC copied from video.mp4), the podcast enclosure.
func (r Replay) AudioKey() string { return r.Key("audio.m4a") }
