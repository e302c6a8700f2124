package catalog

import (
	"context"
	"slices"
	"testing"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestSearchLanguages: q= folds case and accents and takes the last word as a prefix on both
// databases; PostgreSQL also matches French and English stems, each in the replay's (or the
// subtitle track's) language — the one way its answers may differ, by finding more.
func TestSearchLanguages(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, r := range []NewReplay{
		{ID: "fr", Title: "Partager des fichiers", Description: "Les nouveautés", Language: "fr", Pending: Published},
		{ID: "en", Title: "Sharing files with a team", Language: "en", Pending: Published},
	} {
		if err := s.CreateReplay(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProcessing(ctx, r.ID, "ready", 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutTrack(ctx, "fr", Track{Lang: "fr", Kind: "manual", Status: "reviewed", CueCount: 1,
		Text: "Voici les tableurs partagés"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTrack(ctx, "en", Track{Lang: "en", Kind: "auto", Status: "draft", CueCount: 1,
		Text: "hidden words of a draft"}); err != nil {
		t.Fatal(err)
	}
	pg := testenv.DBName() == "postgres"
	stems := func(ids ...string) []string { // found by a stem: on PostgreSQL only
		if pg {
			return ids
		}
		return []string{}
	}
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"FICHIERS", []string{"fr"}},
		{"nouveautes", []string{"fr"}},            // accents folded
		{"NOUVEAUTÉS", []string{"fr"}},            // both ways
		{"partages tableurs", []string{"fr"}},     // subtitle text
		{"fich", []string{"fr"}},                  // the last word is a prefix
		{"files", []string{"en"}},                 //
		{"fich partager", []string{}},             // only the last word is a prefix
		{"hidden", []string{}},                    // a draft track is not offered
		{"fichier partager", stems("fr")},         // French stem: fichier ~ fichiers
		{"share team", stems("en")},               // English stem: share ~ sharing
		{"tableur voici", stems("fr")},            // the French track's stems
		{"sharing partager", []string{}},          // every word must match
		{"nouveaute", []string{"fr"}},             // prefix of the folded word
		{"teams sharing", stems("en")},            // team ~ teams, English
		{"files AND NOT", []string{}},             // operators are words
		{`"files" OR (share)`, []string{}},        // so are quotes and parentheses
		{"les fichiers", []string{"fr"}},          // a French stop word is still a word of the text
		{"with files", []string{"en"}},            // an English one too
		{"partager-des fichiers", []string{"fr"}}, // punctuation splits words
	} {
		list, err := s.ListReplays(ctx, ListOptions{Public: true, Q: tt.q})
		if err != nil {
			t.Fatalf("q=%s: %v", tt.q, err)
		}
		got := []string{}
		for _, r := range list.Items {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("q=%s: %v, want %v", tt.q, got, tt.want)
		}
	}
}
