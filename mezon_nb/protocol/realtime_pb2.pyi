from google.protobuf import wrappers_pb2 as _wrappers_pb2
from mezon_nb.protocol import api_pb2 as _api_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Envelope(_message.Message):
    __slots__ = ("cid", "channel", "clan_join", "channel_join", "channel_leave", "channel_message", "channel_message_ack", "channel_message_send", "error", "ping", "pong", "channel_created_event", "channel_deleted_event", "streaming_joined_event", "streaming_leaved_event", "streaming_started_event", "streaming_ended_event")
    CID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CLAN_JOIN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_JOIN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_LEAVE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_MESSAGE_ACK_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_MESSAGE_SEND_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_CREATED_EVENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_DELETED_EVENT_FIELD_NUMBER: _ClassVar[int]
    STREAMING_JOINED_EVENT_FIELD_NUMBER: _ClassVar[int]
    STREAMING_LEAVED_EVENT_FIELD_NUMBER: _ClassVar[int]
    STREAMING_STARTED_EVENT_FIELD_NUMBER: _ClassVar[int]
    STREAMING_ENDED_EVENT_FIELD_NUMBER: _ClassVar[int]
    cid: int
    channel: Channel
    clan_join: ClanJoin
    channel_join: ChannelJoin
    channel_leave: ChannelLeave
    channel_message: _api_pb2.ChannelMessage
    channel_message_ack: ChannelMessageAck
    channel_message_send: ChannelMessageSend
    error: Error
    ping: Ping
    pong: Pong
    channel_created_event: ChannelCreatedEvent
    channel_deleted_event: ChannelDeletedEvent
    streaming_joined_event: StreamingJoinedEvent
    streaming_leaved_event: StreamingLeavedEvent
    streaming_started_event: StreamingStartedEvent
    streaming_ended_event: StreamingEndedEvent
    def __init__(self, cid: _Optional[int] = ..., channel: _Optional[_Union[Channel, _Mapping]] = ..., clan_join: _Optional[_Union[ClanJoin, _Mapping]] = ..., channel_join: _Optional[_Union[ChannelJoin, _Mapping]] = ..., channel_leave: _Optional[_Union[ChannelLeave, _Mapping]] = ..., channel_message: _Optional[_Union[_api_pb2.ChannelMessage, _Mapping]] = ..., channel_message_ack: _Optional[_Union[ChannelMessageAck, _Mapping]] = ..., channel_message_send: _Optional[_Union[ChannelMessageSend, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., pong: _Optional[_Union[Pong, _Mapping]] = ..., channel_created_event: _Optional[_Union[ChannelCreatedEvent, _Mapping]] = ..., channel_deleted_event: _Optional[_Union[ChannelDeletedEvent, _Mapping]] = ..., streaming_joined_event: _Optional[_Union[StreamingJoinedEvent, _Mapping]] = ..., streaming_leaved_event: _Optional[_Union[StreamingLeavedEvent, _Mapping]] = ..., streaming_started_event: _Optional[_Union[StreamingStartedEvent, _Mapping]] = ..., streaming_ended_event: _Optional[_Union[StreamingEndedEvent, _Mapping]] = ...) -> None: ...

class ClanJoin(_message.Message):
    __slots__ = ("clan_id", "is_last_field")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    IS_LAST_FIELD_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    is_last_field: bool
    def __init__(self, clan_id: _Optional[int] = ..., is_last_field: _Optional[bool] = ...) -> None: ...

class ChannelJoin(_message.Message):
    __slots__ = ("clan_id", "channel_id", "channel_type", "is_public")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    IS_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    channel_type: int
    is_public: bool
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., channel_type: _Optional[int] = ..., is_public: _Optional[bool] = ...) -> None: ...

class ChannelLeave(_message.Message):
    __slots__ = ("clan_id", "channel_id", "channel_type", "is_public")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    IS_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    channel_type: int
    is_public: bool
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., channel_type: _Optional[int] = ..., is_public: _Optional[bool] = ...) -> None: ...

class UserPresence(_message.Message):
    __slots__ = ("user_id", "session_id", "username", "status", "is_mobile", "user_status")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    IS_MOBILE_FIELD_NUMBER: _ClassVar[int]
    USER_STATUS_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    session_id: int
    username: str
    status: _wrappers_pb2.StringValue
    is_mobile: bool
    user_status: str
    def __init__(self, user_id: _Optional[int] = ..., session_id: _Optional[int] = ..., username: _Optional[str] = ..., status: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., is_mobile: _Optional[bool] = ..., user_status: _Optional[str] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("id", "presences", "self", "chanel_label", "clan_logo", "category_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRESENCES_FIELD_NUMBER: _ClassVar[int]
    SELF_FIELD_NUMBER: _ClassVar[int]
    CHANEL_LABEL_FIELD_NUMBER: _ClassVar[int]
    CLAN_LOGO_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: int
    presences: _containers.RepeatedCompositeFieldContainer[UserPresence]
    self: UserPresence
    chanel_label: str
    clan_logo: str
    category_name: str
    def __init__(self_, id: _Optional[int] = ..., presences: _Optional[_Iterable[_Union[UserPresence, _Mapping]]] = ..., self: _Optional[_Union[UserPresence, _Mapping]] = ..., chanel_label: _Optional[str] = ..., clan_logo: _Optional[str] = ..., category_name: _Optional[str] = ...) -> None: ...

class ChannelMessageSend(_message.Message):
    __slots__ = ("clan_id", "channel_id", "content", "mode", "anonymous_message", "mention_everyone", "avatar", "is_public", "code", "topic_id", "id")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MENTION_EVERYONE_FIELD_NUMBER: _ClassVar[int]
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    IS_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    content: str
    mode: int
    anonymous_message: bool
    mention_everyone: bool
    avatar: str
    is_public: bool
    code: int
    topic_id: int
    id: int
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., content: _Optional[str] = ..., mode: _Optional[int] = ..., anonymous_message: _Optional[bool] = ..., mention_everyone: _Optional[bool] = ..., avatar: _Optional[str] = ..., is_public: _Optional[bool] = ..., code: _Optional[int] = ..., topic_id: _Optional[int] = ..., id: _Optional[int] = ...) -> None: ...

class ChannelMessageAck(_message.Message):
    __slots__ = ("channel_id", "message_id", "code", "username", "create_time_seconds", "update_time_seconds", "persistent", "clan_logo", "category_name")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    CLAN_LOGO_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_NAME_FIELD_NUMBER: _ClassVar[int]
    channel_id: int
    message_id: int
    code: int
    username: str
    create_time_seconds: int
    update_time_seconds: int
    persistent: _wrappers_pb2.BoolValue
    clan_logo: str
    category_name: str
    def __init__(self, channel_id: _Optional[int] = ..., message_id: _Optional[int] = ..., code: _Optional[int] = ..., username: _Optional[str] = ..., create_time_seconds: _Optional[int] = ..., update_time_seconds: _Optional[int] = ..., persistent: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., clan_logo: _Optional[str] = ..., category_name: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "context")
    class ContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    context: _containers.ScalarMap[str, str]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Ping(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Pong(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChannelCreatedEvent(_message.Message):
    __slots__ = ("clan_id", "category_id", "creator_id", "parent_id", "channel_id", "channel_label", "channel_private", "channel_type", "status", "app_id", "clan_name", "channel_avatar")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATOR_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_LABEL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_PRIVATE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    CLAN_NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_AVATAR_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    category_id: int
    creator_id: int
    parent_id: int
    channel_id: int
    channel_label: str
    channel_private: int
    channel_type: int
    status: int
    app_id: int
    clan_name: str
    channel_avatar: str
    def __init__(self, clan_id: _Optional[int] = ..., category_id: _Optional[int] = ..., creator_id: _Optional[int] = ..., parent_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., channel_label: _Optional[str] = ..., channel_private: _Optional[int] = ..., channel_type: _Optional[int] = ..., status: _Optional[int] = ..., app_id: _Optional[int] = ..., clan_name: _Optional[str] = ..., channel_avatar: _Optional[str] = ...) -> None: ...

class ChannelDeletedEvent(_message.Message):
    __slots__ = ("clan_id", "category_id", "parent_id", "channel_id", "deletor")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    DELETOR_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    category_id: int
    parent_id: int
    channel_id: int
    deletor: str
    def __init__(self, clan_id: _Optional[int] = ..., category_id: _Optional[int] = ..., parent_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., deletor: _Optional[str] = ...) -> None: ...

class StreamingJoinedEvent(_message.Message):
    __slots__ = ("clan_id", "clan_name", "id", "participant", "user_id", "streaming_channel_label", "streaming_channel_id")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CLAN_NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STREAMING_CHANNEL_LABEL_FIELD_NUMBER: _ClassVar[int]
    STREAMING_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    clan_name: str
    id: int
    participant: str
    user_id: int
    streaming_channel_label: str
    streaming_channel_id: int
    def __init__(self, clan_id: _Optional[int] = ..., clan_name: _Optional[str] = ..., id: _Optional[int] = ..., participant: _Optional[str] = ..., user_id: _Optional[int] = ..., streaming_channel_label: _Optional[str] = ..., streaming_channel_id: _Optional[int] = ...) -> None: ...

class StreamingLeavedEvent(_message.Message):
    __slots__ = ("id", "clan_id", "streaming_channel_id", "streaming_user_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    STREAMING_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STREAMING_USER_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    clan_id: int
    streaming_channel_id: str
    streaming_user_id: str
    def __init__(self, id: _Optional[int] = ..., clan_id: _Optional[int] = ..., streaming_channel_id: _Optional[str] = ..., streaming_user_id: _Optional[str] = ...) -> None: ...

class StreamingStartedEvent(_message.Message):
    __slots__ = ("clan_id", "channel_id", "streaming_url", "is_streaming")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STREAMING_URL_FIELD_NUMBER: _ClassVar[int]
    IS_STREAMING_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    streaming_url: str
    is_streaming: bool
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., streaming_url: _Optional[str] = ..., is_streaming: _Optional[bool] = ...) -> None: ...

class StreamingEndedEvent(_message.Message):
    __slots__ = ("clan_id", "channel_id")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ...) -> None: ...
