package messages

import (
	"encoding/json"
	"fmt"
	"time"
)

// eventFields are the members of an EventBridge event envelope, the same
// list as the EventBridgeModel of AWS Lambda Powertools for Python. Only
// events that EventBridge replays from an archive have "replay-name".
var eventFields = []string{
	"version", "id", "detail-type", "source", "account", "time",
	"region", "resources", "detail", "replay-name",
}

// requiredEventFields are the envelope members that an event must have.
var requiredEventFields = []string{"detail-type", "source", "time", "detail"}

// looksLikeEvent reports whether obj should be read as an EventBridge event.
// An object with both "detail-type" and "detail" is one. So is an object with
// only one of them and no "job", so that a broken event gets an error about
// the envelope rather than about unknown message fields.
func looksLikeEvent(obj object) bool {
	hasType, hasDetail := obj.has("detail-type"), obj.has("detail")
	if hasType && hasDetail {
		return true
	}
	return (hasType || hasDetail) && !obj.has("job")
}

// decodeEvent reads an EventBridge event whose detail is the message. The
// event time becomes the message's ScheduledFor unless the message has one.
func decodeEvent(obj object) (Message, error) {
	eventTime, err := checkEnvelope(obj)
	if err != nil {
		return Message{}, fmt.Errorf("EventBridge event: %w", err)
	}

	detail, err := parseObject(obj.values["detail"])
	if err != nil {
		return Message{}, fmt.Errorf("EventBridge event detail: %w", err)
	}
	m, err := decodeMessage(detail)
	if err != nil {
		return Message{}, fmt.Errorf("EventBridge event detail: %w", err)
	}

	if m.ScheduledFor == nil {
		m.ScheduledFor = eventTime
	}
	return m, nil
}

// checkEnvelope checks the members of the event other than the detail's
// content and returns the event time.
func checkEnvelope(obj object) (*time.Time, error) {
	var missing []string
	for _, name := range requiredEventFields {
		if !obj.has(name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s", joinQuoted(missing))
	}
	if err := checkFieldNames(obj, eventFields); err != nil {
		return nil, err
	}

	if raw, ok := obj.values["version"]; ok && string(raw) != `"0"` {
		return nil, fmt.Errorf(`"version" must be the string "0", found %s`, describe(raw))
	}
	for _, name := range []string{"id", "detail-type", "source", "account", "region", "replay-name"} {
		if _, err := stringField(obj, name); err != nil {
			return nil, err
		}
	}
	if err := checkResources(obj); err != nil {
		return nil, err
	}
	if raw := obj.values["detail"]; kindOf(raw) != "object" {
		return nil, fmt.Errorf(`"detail" must be a JSON object that is the job message, found %s`, describe(raw))
	}
	return timeField(obj, "time")
}

func checkResources(obj object) error {
	raw, ok := obj.values["resources"]
	if !ok {
		return nil
	}
	var resources []string
	if kindOf(raw) != "array" || json.Unmarshal(raw, &resources) != nil {
		return fmt.Errorf(`"resources" must be an array of strings, found %s`, describe(raw))
	}
	return nil
}
