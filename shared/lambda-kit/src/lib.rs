//! Small Lambda runtime kit: tracing set-up, invocation deadline, SQS partial-batch helper.
