"""The two reply shapes of the sandbox's HTTP API: protobuf bodies and grpc-gateway errors.

>>> json_error(404, "channel 7 not found").body
b'{"code":5,"message":"channel 7 not found"}'
"""

from __future__ import annotations

from google.protobuf.message import Message
from starlette.responses import JSONResponse, Response

PROTOBUF_MEDIA_TYPE = "application/x-protobuf"

#: HTTP status -> the gRPC status code grpc-gateway puts in an error body.
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 500: 13}


def protobuf_response(message: Message) -> Response:
    """A 200 reply carrying one serialised protobuf message.

    >>> from mezon_nb.protocol import api_pb2
    >>> protobuf_response(api_pb2.Session(created=True)).headers["content-type"]
    'application/x-protobuf'
    """
    return Response(message.SerializeToString(), media_type=PROTOBUF_MEDIA_TYPE)


def json_error(status: int, message: str) -> JSONResponse:
    """A grpc-gateway style error ``{code, message}``; ``message`` must hold no secret.

    >>> json_error(401, "session expired").status_code
    401
    """
    return JSONResponse(
        {"code": GRPC_CODES.get(status, 2), "message": message},
        status_code=status,
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )
