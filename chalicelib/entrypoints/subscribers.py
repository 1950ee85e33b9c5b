"""Subscribers and their channels, and the API keys that call Vigil: admin work, every change audited."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.domain.auth import key_record
from chalicelib.entrypoints.contract import ADMINS, Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.entrypoints.views import subscriber_json
from chalicelib.usecases import UseCases

routes = Routes("subscribers")


@routes.post("/subscribers", roles=ADMINS, status=201, body=True, refuses=(409,), cli="subscribers create")
def post_subscriber(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.subscribers import parse_subscriber

    draft = parse_subscriber(
        req.json(), registry=vigil.registry, allow_plain_http=vigil.allows_local_webhooks
    )
    saved = vigil.create_subscriber(draft, caller=req.who)
    body = {
        **subscriber_json(saved.subscriber, reveal_for=saved.new_channel_ids),
        "confirmations": saved.confirmations,
    }
    return json_response(body, 201, {"Location": f"subscribers/{saved.subscriber.id}"})


@routes.get("/subscribers", roles=ADMINS, refuses=(400,), cli="subscribers list")
def list_subscribers(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.queries import parse_limit

    page = vigil.subscribers(limit=parse_limit(req.query("limit")), cursor=req.query("cursor"))
    return json_response({"items": [subscriber_json(s) for s in page.items], "cursor": page.cursor})


@routes.get("/subscribers/{subscriber_id}", roles=ADMINS, cli="subscribers show")
def get_subscriber(req: Incoming, vigil: UseCases, subscriber_id: str) -> Response:
    return json_response(subscriber_json(vigil.subscriber(subscriber_id)))


@routes.patch(
    "/subscribers/{subscriber_id}", roles=ADMINS, body=True, refuses=(409,), cli="subscribers update"
)
def patch_subscriber(req: Incoming, vigil: UseCases, subscriber_id: str) -> Response:
    from chalicelib.schemas.subscribers import parse_patch

    patch = parse_patch(req.json(), registry=vigil.registry, allow_plain_http=vigil.allows_local_webhooks)
    saved = vigil.update_subscriber(subscriber_id, patch, caller=req.who)
    return json_response(
        {
            **subscriber_json(saved.subscriber, reveal_for=saved.new_channel_ids),
            "confirmations": saved.confirmations,
        }
    )


@routes.delete("/subscribers/{subscriber_id}", roles=ADMINS, status=204, answers=(), cli="subscribers delete")
def delete_subscriber(req: Incoming, vigil: UseCases, subscriber_id: str) -> Response:
    vigil.delete_subscriber(subscriber_id, caller=req.who)
    return Response(body="", status_code=204)


@routes.post("/subscribers/{subscriber_id}/test", roles=ADMINS, status=202, cli="subscribers test")
def post_test_message(req: Incoming, vigil: UseCases, subscriber_id: str) -> Response:
    sent = vigil.send_test(subscriber_id, caller=req.who)
    return json_response({"subscriber_id": subscriber_id, "sent": sent}, 202)


@routes.post(
    "/subscribers/{subscriber_id}/channels/{channel_id}/rotate-secret",
    roles=ADMINS,
    refuses=(400,),
    cli="subscribers rotate-secret",
)
def post_rotate_secret(req: Incoming, vigil: UseCases, subscriber_id: str, channel_id: str) -> Response:
    updated, secret = vigil.rotate_secret(subscriber_id, channel_id, caller=req.who)
    channel = updated.channel(channel_id)
    until = channel.previous_secret_until if channel else None
    return json_response(
        {
            "channel_id": channel_id,
            "secret": secret,
            "previous_secret_valid_until": until.isoformat() if until else None,
        }
    )


@routes.post("/keys", roles=ADMINS, status=201, body=True, cli="keys create")
def post_key(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.keys import parse_key_request

    name, role = parse_key_request(req.json(max_bytes=4096))
    key, plaintext = vigil.create_key(name, role, caller=req.who)
    return json_response({**key_record(key), "key": plaintext}, 201, {"Location": f"keys/{key.id}"})


@routes.get("/keys", roles=ADMINS, cli="keys list")
def list_keys(req: Incoming, vigil: UseCases) -> Response:
    return json_response({"items": [key_record(k) for k in vigil.api_keys()]})


@routes.delete("/keys/{key_id}", roles=ADMINS, status=204, answers=(), refuses=(409,), cli="keys revoke")
def delete_key(req: Incoming, vigil: UseCases, key_id: str) -> Response:
    vigil.revoke_key(key_id, caller=req.who)
    return Response(body="", status_code=204)
