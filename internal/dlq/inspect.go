package dlq

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// TopicReader reads a topic without a consumer group.
type TopicReader interface {
	PartitionEnds(ctx context.Context, topics ...string) (map[string]kafka.TopicPartitions, error)
	ReadRecords(ctx context.Context, p kafka.Partition, from int64, max int) (kafka.ReadResult, error)
}

// Inspection is what `dlq inspect` shows: the newest records of one
// connector's DLQ topic.
type Inspection struct {
	Connector string `json:"connector"`
	Topic     string `json:"dlq_topic"`
	// Total is how many records the topic holds (end minus start
	// offsets, over its partitions).
	Total int64 `json:"total"`
	// Deleted is how many of the newest offsets asked for retention had
	// already deleted: the topic holds fewer records than were asked.
	Deleted int64     `json:"deleted_by_retention,omitempty"`
	Records []*Record `json:"records"`
}

// Inspect reads the newest limit records of topic (over all its
// partitions, oldest first). It only reads.
func Inspect(ctx context.Context, r TopicReader, connector, topic string, limit int) (*Inspection, error) {
	ends, err := r.PartitionEnds(ctx, topic)
	if err != nil {
		return nil, err
	}
	tp := ends[topic]
	if !tp.Exists {
		return nil, fmt.Errorf("DLQ topic %s of connector %s does not exist yet (Connect creates it with the first dead-lettered record)", topic, connector)
	}
	if tp.Err != nil {
		return nil, tp.Err
	}
	out := &Inspection{Connector: connector, Topic: topic, Records: []*Record{}}
	parts := sortedPartitions(tp.Ends)
	for _, p := range parts {
		end := tp.Ends[p]
		from := max(end-int64(limit), 0)
		res, err := r.ReadRecords(ctx, kafka.Partition{Topic: topic, Partition: p}, from, limit)
		if err != nil {
			return nil, err
		}
		out.Deleted += res.Skipped
		if res.Start >= 0 {
			out.Total += end - res.Start
		} else {
			out.Total += int64(len(res.Records))
		}
		for _, rec := range res.Records {
			parsed := Parse(rec)
			out.Records = append(out.Records, &parsed)
		}
	}
	sort.SliceStable(out.Records, func(i, j int) bool {
		a, b := out.Records[i], out.Records[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	if len(out.Records) > limit {
		out.Records = out.Records[len(out.Records)-limit:]
	}
	return out, nil
}

func sortedPartitions(ends map[int32]int64) []int32 {
	parts := make([]int32, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return parts
}

// WriteTable prints one line per record: where it sits in the DLQ, where
// it came from, and why it failed.
func (in *Inspection) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "connector %s, DLQ topic %s: %d records, showing the newest %d", in.Connector, in.Topic, in.Total, len(in.Records))
	if in.Deleted > 0 {
		fmt.Fprintf(w, " (the %d before them were deleted by retention)", in.Deleted)
	}
	fmt.Fprintln(w)
	if len(in.Records) == 0 {
		return nil
	}
	// A topic other connectors share gets a column saying whose each
	// record is: `dlq replay` sends only the connector's own.
	shared := slices.ContainsFunc(in.Records, func(r *Record) bool { return r.Connector != "" && r.Connector != in.Connector })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "DLQ\tTIME\tORIGINAL\tSTAGE\tEXCEPTION\tERROR"
	if shared {
		head = "DLQ\tTIME\tCONNECTOR\tORIGINAL\tSTAGE\tEXCEPTION\tERROR"
	}
	fmt.Fprintln(tw, head)
	for _, r := range in.Records {
		orig := "-"
		if r.OriginalTopic != "" {
			orig = fmt.Sprintf("%s[%d]@%d", r.OriginalTopic, r.OriginalPartition, r.OriginalOffset)
		}
		fmt.Fprintf(tw, "%d@%d\t%s\t", r.Partition, r.Offset, r.Timestamp.UTC().Format(time.RFC3339))
		if shared {
			fmt.Fprintf(tw, "%s\t", dash(r.Connector))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", orig, dash(r.Stage), dash(shortClass(r.ExceptionClass)), dash(oneLine(r.Error(), 120)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if shared {
		fmt.Fprintf(w, "the topic is shared with other connectors: `dlq replay %s` sends only the records of %s\n", in.Connector, in.Connector)
	}
	if slices.ContainsFunc(in.Records, func(r *Record) bool { return !r.HasContext }) {
		fmt.Fprintln(w, "records without context: set errors.deadletterqueue.context.headers.enable=true on the connector to record their origin and error")
	}
	return nil
}

// Error says what went wrong in one line: the root cause when the stack
// trace names one that the message does not already say, then the
// message.
func (r *Record) Error() string {
	switch {
	case r.RootCause == "" || strings.Contains(r.ExceptionMessage, r.RootCause):
		return r.ExceptionMessage
	case r.ExceptionMessage == "":
		return r.RootCause
	}
	return r.RootCause + " (surfaced as: " + r.ExceptionMessage + ")"
}

// jsonRecord is a Record as `dlq inspect -o json` prints it. Key and
// value are text when they are valid UTF-8, base64 otherwise (Avro, say),
// as their *_encoding field says; null stays null.
type jsonRecord struct {
	*Record
	Key           *string `json:"key"`
	KeyEncoding   string  `json:"key_encoding,omitempty"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding,omitempty"`
}

// WriteJSON prints the inspection as one JSON document.
func (in *Inspection) WriteJSON(w io.Writer) error {
	recs := make([]jsonRecord, len(in.Records))
	for i, r := range in.Records {
		recs[i].Record = r
		recs[i].Key, recs[i].KeyEncoding = encodeBytes(r.Key)
		recs[i].Value, recs[i].ValueEncoding = encodeBytes(r.Value)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Connector string       `json:"connector"`
		Topic     string       `json:"dlq_topic"`
		Total     int64        `json:"total"`
		Records   []jsonRecord `json:"records"`
	}{in.Connector, in.Topic, in.Total, recs})
}

func encodeBytes(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, "text"
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, "base64"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortClass keeps a class name's last part: the table must stay narrow.
func shortClass(c string) string {
	if i := strings.LastIndexByte(c, '.'); i >= 0 {
		return c[i+1:]
	}
	return c
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}
