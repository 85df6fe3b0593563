package worker

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/batchport/batchport/internal/runner"
)

// Dead-letter attribute names. batchport dlq list and redrive read them.
const (
	AttrErrorClass   = "batchport.error_class"
	AttrErrorMessage = "batchport.error_message"
	AttrJob          = "batchport.job"
	AttrRunKey       = "batchport.run_key"
	AttrAttempt      = "batchport.attempt"
	AttrReceiveCount = "batchport.receive_count"
)

// maxReasonBytes keeps the error text well inside SQS's 256 KiB message limit.
const maxReasonBytes = 4096

// deadLetter sends the message body unchanged to the DLQ with the failure
// as message attributes, then deletes the original.
func (w *Worker) deadLetter(message types.Message, result runner.Result, receiveCount int) error {
	attributes := map[string]types.MessageAttributeValue{
		AttrErrorClass:   stringAttribute(result.Reason),
		AttrErrorMessage: stringAttribute(truncate(errorText(result.Err), maxReasonBytes)),
		AttrReceiveCount: numberAttribute(receiveCount),
	}
	if result.Job != "" {
		attributes[AttrJob] = stringAttribute(result.Job)
	}
	if result.RunKey != "" {
		attributes[AttrRunKey] = stringAttribute(result.RunKey)
	}
	if result.Attempt > 0 {
		attributes[AttrAttempt] = numberAttribute(result.Attempt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := w.queue.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(w.config.DLQURL),
		MessageBody:       message.Body,
		MessageAttributes: attributes,
	})
	if err != nil {
		return fmt.Errorf("sending to the DLQ: %w", err)
	}
	if err := w.deleteMessage(message); err != nil {
		return fmt.Errorf("deleting the original after dead-lettering it: %w", err)
	}
	return nil
}

func stringAttribute(value string) types.MessageAttributeValue {
	if value == "" {
		value = "-" // SQS rejects empty attribute values
	}
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
}

func numberAttribute(value int) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(value))}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func errorText(err error) string {
	if err == nil {
		return "no error recorded"
	}
	return err.Error()
}
