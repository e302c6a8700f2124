package pipeline

// Tag names a software version a recording documents (the catalog's Tag).
type Tag struct {
	Software string `json:"software"`
	Version  string `json:"version"`
}
