package main

import (
	"context"
	"os/exec"

	"codeberg.org/atelier/atelier/pipeline/subtitle"
	"codeberg.org/atelier/atelier/pipeline/transcribe"
)

// openSubtitles builds the subtitle tracks (stored, re-timed, published through a.media and the
// catalog) and the automatic-caption backend that -transcribe names. The pipeline, built next,
// publishes the tracks and answers the subtitle API about recordings (openPipeline).
func (a *app) openSubtitles(ctx context.Context) error {
	tr, err := transcribe.New(a.cfg.Transcribe, a.cfg.TranscribeCmd)
	if err != nil {
		return err
	}
	log := a.log.With("component", "subtitles")
	a.subtitles = &subtitle.Tracks{Store: a.media, Catalog: a.catalog, Log: log}
	if tr != nil {
		a.subtitles.Transcriber, a.subtitles.ExtractAudio = tr, transcribe.ExtractAudio
		if a.cfg.Transcribe == transcribe.BackendPocketsphinx {
			_, err1 := exec.LookPath("pocketsphinx")
			_, err2 := exec.LookPath("pocketsphinx_continuous")
			if err1 != nil && err2 != nil {
				log.Warn("automatic captions need pocketsphinx: install the pocketsphinx and pocketsphinx-en-us packages")
			}
		}
	}
	return nil
}
