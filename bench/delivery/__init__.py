"""AWS requests per delivery: one notice to N subscribers, through the real path, on moto.

    .venv/bin/python -m bench.delivery [--sizes 10,100,1000,10000] [--mixed 1000] [--seed N]
                                       [--send-workers 4] [--on-towns 10000]

Runs in process against moto (``mock_aws``), with the resources of ``infra/template.yaml`` and the
real adapters from ``chalicelib.bootstrap.build``. Each scenario starts from an empty moto account:

1. N subscribers subscribed statewide to rollouts (``--on-towns``: to the 169 towns in turn, whom
   the statewide rollout reaches through the index's inside rows), written straight into the
   subscribers table and the subscriptions index (``batch_write``; every channel active);
2. ``services.ingest.accept`` of one statewide rollout (what ``POST /events`` calls);
3. the route queue pumped through ``app.on_route_message``, then the send queue through
   ``app.on_send_message``, with ``vigil_local.pump.QueuePump.poll_once`` standing in for
   Lambda's SQS event source mapping (batches of 10, deleting what succeeded).

Every AWS call of Vigil's clients is counted with ``bench.counting.AwsCallCounter`` (registered on
the session before ``build``); a second hook on the same session (``metering.UnitMeter``) names the
table or queue of each call and estimates the DynamoDB request units and SQS billed requests it
costs. The pump's own ReceiveMessage/DeleteMessageBatch go through another session with its own
counter: in AWS the event source mapping makes them, so they are reported apart and are not
Vigil's overhead (they are still on the SQS bill, and the cost model counts them).

"Provider sends" are SES SendEmail, SNS Publish and webhook POSTs (to a stdlib receiver on
127.0.0.1); "overhead" is every DynamoDB and SQS request Vigil makes, from ingest to the last send.
The targets, at 1,000 recipients and more: at most 0.12 overhead requests per delivery, and AWS
overhead at most 2 % of what the messages cost.

Times are moto's, in this process: informational only. The request counts are what the code asks
of AWS, emulator or not.

The modules: ``scenario`` (who is subscribed, the event), ``metering`` (request units and billed
requests by table and queue), ``webhooks`` (the receiver and a timed sender), ``measure`` (a
scenario's moto account, its phases, its checks), ``results``, ``cost`` (the cost
model), ``report`` (the tables) and ``__main__`` (the command). The moto
speed-ups it runs under are ``bench.emulator_patches``.
"""
