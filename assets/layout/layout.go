// Package layout knows where Atelier keeps a recording and its replay in storage; everyone else
// asks it instead of spelling keys.
//
//	recordings/{id}/source                              the uploaded original, untouched
//	recordings/{id}/subtitles/{lang}.{srt|vtt|ass|...}  a subtitle track as sent, source time
//	recordings/{id}/subtitles/{lang}.auto.vtt           an automatic caption draft, source time
//	recordings/{id}/waveform.json                       the editor's peaks of the source (audiowaveform JSON)
//	recordings/{id}/storyboard.{jpg,vtt}                the editor's thumbnails of the source, source time
//	replays/{id}/r/{render}/...                         one render generation of the replay (below)
//
// A render generation holds everything a render publishes, under the same relative names:
//
//	video.mp4, poster.jpg, storyboard.*, chapters.vtt,  the rendered outputs (pipeline/media.Render
//	  hls/...                                           writes them under the same relative names)
//	subtitles/{lang}.vtt                                a published track, replay time
//	hls/subs/{lang}/...                                 its HLS rendition
//	burnin/{lang}.mp4                                   the rendition with subtitles burned in
//	audio.m4a                                           the audio-only rendition
//
// Every render (the first and each re-cut) writes a fresh generation; the catalog records which
// one is current (catalog.Replay.Render), so that switching a replay to a new render is one
// database write and a learner never reads a half-written one. Replays stored before
// generations keep their outputs directly under replays/{id}/ (the flat layout, render ""),
// and are served from there until their next render.
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

// WaveformKey is the source's audio peaks for the cut editor.
func (r Recording) WaveformKey() string { return r.Prefix() + "waveform.json" }

// StoryboardKey is the source's thumbnail sprite (ext ".jpg") or its WebVTT index (".vtt").
func (r Recording) StoryboardKey(ext string) string { return r.Prefix() + "storyboard" + ext }

// Replay is the storage layout of a replay: the rendered outputs of a recording (same id).
// Replay(id) is the flat layout of replays rendered before generations; Replay(id).Render(g) is
// the layout of generation g. Every key method answers for the layout it is called on.
type Replay string

const rendersDir = "/r/"

// Render is the layout of the render generation render of the replay: the same names under
// replays/{id}/r/{render}/. An empty render is the flat layout.
func (r Replay) Render(render string) Replay {
	if render == "" {
		return Replay(r.ID())
	}
	return Replay(r.ID() + rendersDir + render)
}

// ID is the replay's id (whatever generation r names).
func (r Replay) ID() string {
	id, _, _ := strings.Cut(string(r), "/")
	return id
}

// RendersPrefix is the key prefix of every render generation of the replay.
func (r Replay) RendersPrefix() string { return replaysDir + r.ID() + rendersDir }

// Prefix is the key prefix of every output of this layout: "replays/{id}/" (flat) or
// "replays/{id}/r/{render}/".
func (r Replay) Prefix() string { return replaysDir + string(r) + "/" }

// AllPrefix is the key prefix of everything stored for the replay, every generation included.
func (r Replay) AllPrefix() string { return replaysDir + r.ID() + "/" }

// Owns tells whether key belongs to this layout: under its prefix and, for the flat layout, in
// no render generation.
func (r Replay) Owns(key string) bool {
	if !strings.HasPrefix(key, r.Prefix()) {
		return false
	}
	return string(r) != r.ID() || !strings.HasPrefix(key, r.RendersPrefix())
}

// Split tells which render generation of the replay key belongs to ("" for the flat layout)
// and its name relative to that generation's prefix.
func (r Replay) Split(key string) (render, rel string, ok bool) {
	rest, ok := strings.CutPrefix(key, r.AllPrefix())
	if !ok || rest == "" {
		return "", "", false
	}
	if g, ok := strings.CutPrefix(rest, rendersDir[1:]); ok {
		render, rel, ok = strings.Cut(g, "/")
		return render, rel, ok && render != "" && rel != ""
	}
	return "", rest, true
}

// Rel is key relative to this layout's prefix, when the layout owns it.
func (r Replay) Rel(key string) (string, bool) {
	if !r.Owns(key) {
		return "", false
	}
	return strings.TrimPrefix(key, r.Prefix()), true
}

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

// SubtitlePrefix is the key prefix of the published tracks; the subtitle step writes them into
// the generation being rendered, or into the current one when a track changes.
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
