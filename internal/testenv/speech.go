package testenv

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Speech writes text spoken by espeak-ng to a WAV file in t.TempDir() and returns its path. The
// British voice at 140 words a minute is the one PocketSphinx's US English model recognises best
// among espeak-ng's voices (tried: "testing", "three", "weather" come back).
func Speech(t testing.TB, text string) string {
	t.Helper()
	_, err := exec.LookPath("espeak-ng")
	Require(t, "espeak-ng", err)
	out := filepath.Join(t.TempDir(), "speech.wav")
	if b, err := exec.Command("espeak-ng", "-v", "en-gb", "-s", "140", "-w", out, "--", text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, b)
	}
	return out
}

// Pocketsphinx skips (or fails in CI) unless a PocketSphinx command line, 5.x "pocketsphinx" or
// 0.8 "pocketsphinx_continuous", is installed.
func Pocketsphinx(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("pocketsphinx"); err == nil {
		return
	}
	_, err := exec.LookPath("pocketsphinx_continuous")
	Require(t, "pocketsphinx", err)
}
