package layout

import "testing"

// The keys are a storage format: objects stored under them must stay reachable, so every key is
// spelled out here once.
func TestKeys(t *testing.T) {
	rp, rec := Replay("0123abcd"), Recording("0123abcd")
	rg := rp.Render("g7")
	tests := []struct{ got, want string }{
		{rec.SourceKey(), "recordings/0123abcd/source"},
		{rec.SubtitleKey("pt-BR", ".srt"), "recordings/0123abcd/subtitles/pt-BR.srt"},
		{rec.SubtitleKey("en", ".auto.vtt"), "recordings/0123abcd/subtitles/en.auto.vtt"},
		{rec.SubtitlePrefix(), "recordings/0123abcd/subtitles/"},
		{rp.Prefix(), "replays/0123abcd/"},
		{rp.VideoKey(), "replays/0123abcd/video.mp4"},
		{rp.PosterKey(), "replays/0123abcd/poster.jpg"},
		{rp.HLSKey("master.m3u8"), "replays/0123abcd/hls/master.m3u8"},
		{rp.HLSKey("720p/init.mp4"), "replays/0123abcd/hls/720p/init.mp4"},
		{rp.SubtitleKey("fr"), "replays/0123abcd/subtitles/fr.vtt"},
		{rp.SubtitlePrefix(), "replays/0123abcd/subtitles/"},
		{rp.SubtitleHLSPrefix("fr"), "replays/0123abcd/hls/subs/fr/"},
		{rp.BurnInKey("fr"), "replays/0123abcd/burnin/fr.mp4"},
		{rp.AudioKey(), "replays/0123abcd/audio.m4a"},
		{rp.Key("storyboard.vtt"), "replays/0123abcd/storyboard.vtt"},
		{rec.WaveformKey(), "recordings/0123abcd/waveform.json"},
		{rec.StoryboardKey(".jpg"), "recordings/0123abcd/storyboard.jpg"},
		{rec.StoryboardKey(".vtt"), "recordings/0123abcd/storyboard.vtt"},
		// Render generations: the same names under r/{render}/.
		{rp.RendersPrefix(), "replays/0123abcd/r/"},
		{rp.AllPrefix(), "replays/0123abcd/"},
		{rg.Prefix(), "replays/0123abcd/r/g7/"},
		{rg.AllPrefix(), "replays/0123abcd/"},
		{rg.ID(), "0123abcd"},
		{rg.VideoKey(), "replays/0123abcd/r/g7/video.mp4"},
		{rg.PosterKey(), "replays/0123abcd/r/g7/poster.jpg"},
		{rg.HLSKey("master.m3u8"), "replays/0123abcd/r/g7/hls/master.m3u8"},
		{rg.SubtitleKey("fr"), "replays/0123abcd/r/g7/subtitles/fr.vtt"},
		{rg.SubtitleHLSPrefix("fr"), "replays/0123abcd/r/g7/hls/subs/fr/"},
		{rg.BurnInKey("fr"), "replays/0123abcd/r/g7/burnin/fr.mp4"},
		{rg.AudioKey(), "replays/0123abcd/r/g7/audio.m4a"},
		{rg.Render("h8").VideoKey(), "replays/0123abcd/r/h8/video.mp4"},
		{rg.Render("").VideoKey(), "replays/0123abcd/video.mp4"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestInverses(t *testing.T) {
	rp := Replay("r1")
	if lang, ok := rp.BurnInLang("replays/r1/burnin/pt-BR.mp4"); !ok || lang != "pt-BR" {
		t.Errorf("BurnInLang = %q, %v", lang, ok)
	}
	for _, k := range []string{"replays/r2/burnin/fr.mp4", "replays/r1/burnin/fr.vtt", "replays/r1/burnin/a/b.mp4", "replays/r1/video.mp4"} {
		if lang, ok := rp.BurnInLang(k); ok {
			t.Errorf("BurnInLang(%q) = %q, want none", k, lang)
		}
	}
	if rec, ok := RecordingOf("recordings/abc/subtitles/fr.srt"); !ok || rec != "abc" {
		t.Errorf("RecordingOf = %q, %v", rec, ok)
	}
	for _, k := range []string{"recordings/", "recordings//source", "replays/abc/video.mp4", "recordings/abc"} {
		if rec, ok := RecordingOf(k); ok {
			t.Errorf("RecordingOf(%q) = %q, want none", k, rec)
		}
	}
}

func TestRenderOwnership(t *testing.T) {
	flat, g1, g2 := Replay("r1"), Replay("r1").Render("g1"), Replay("r1").Render("g2")
	tests := []struct {
		layout Replay
		key    string
		rel    string // "" when not owned
	}{
		{flat, "replays/r1/video.mp4", "video.mp4"},
		{flat, "replays/r1/subtitles/fr.vtt", "subtitles/fr.vtt"},
		{flat, "replays/r1/r/g1/video.mp4", ""},
		{flat, "replays/r10/video.mp4", ""},
		{g1, "replays/r1/r/g1/hls/master.m3u8", "hls/master.m3u8"},
		{g1, "replays/r1/r/g2/video.mp4", ""},
		{g1, "replays/r1/video.mp4", ""},
		{g2, "replays/r1/r/g2/burnin/fr.mp4", "burnin/fr.mp4"},
		{g1, "replays/r1/r/g10/video.mp4", ""},
	}
	for _, tt := range tests {
		rel, ok := tt.layout.Rel(tt.key)
		if ok != (tt.rel != "") || rel != tt.rel {
			t.Errorf("%s.Rel(%q) = %q, %v; want %q", tt.layout.Prefix(), tt.key, rel, ok, tt.rel)
		}
	}
	if lang, ok := g1.BurnInLang("replays/r1/r/g1/burnin/de.mp4"); !ok || lang != "de" {
		t.Errorf("BurnInLang in a generation = %q, %v", lang, ok)
	}
}

func TestSplit(t *testing.T) {
	rp := Replay("r1").Render("g1") // any generation of r1 splits alike
	tests := []struct{ key, render, rel string }{
		{"replays/r1/video.mp4", "", "video.mp4"},
		{"replays/r1/hls/720p/init.mp4", "", "hls/720p/init.mp4"},
		{"replays/r1/r/g2/hls/master.m3u8", "g2", "hls/master.m3u8"},
		{"replays/r1/r/g1/burnin/fr.mp4", "g1", "burnin/fr.mp4"},
	}
	for _, tt := range tests {
		render, rel, ok := rp.Split(tt.key)
		if !ok || render != tt.render || rel != tt.rel {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", tt.key, render, rel, ok, tt.render, tt.rel)
		}
	}
	for _, k := range []string{"replays/r2/video.mp4", "replays/r1/", "replays/r1/r/g1/", "replays/r1/r//x", "replays/r10/video.mp4"} {
		if render, rel, ok := rp.Split(k); ok {
			t.Errorf("Split(%q) = %q, %q; want none", k, render, rel)
		}
	}
}
