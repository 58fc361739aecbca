from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Session(_message.Message):
    __slots__ = ("created", "token", "refresh_token", "user_id", "is_remember", "api_url", "id_token", "ws_url", "session_id", "tcp_url")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    IS_REMEMBER_FIELD_NUMBER: _ClassVar[int]
    API_URL_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WS_URL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TCP_URL_FIELD_NUMBER: _ClassVar[int]
    created: bool
    token: str
    refresh_token: str
    user_id: int
    is_remember: bool
    api_url: str
    id_token: str
    ws_url: str
    session_id: str
    tcp_url: str
    def __init__(self, created: _Optional[bool] = ..., token: _Optional[str] = ..., refresh_token: _Optional[str] = ..., user_id: _Optional[int] = ..., is_remember: _Optional[bool] = ..., api_url: _Optional[str] = ..., id_token: _Optional[str] = ..., ws_url: _Optional[str] = ..., session_id: _Optional[str] = ..., tcp_url: _Optional[str] = ...) -> None: ...

class RegisterStreamingChannelRequest(_message.Message):
    __slots__ = ("clan_id", "channel_id")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ...) -> None: ...

class RegisterStreamingChannelResponse(_message.Message):
    __slots__ = ("clan_id", "channel_id", "streaming_url")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STREAMING_URL_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    streaming_url: str
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., streaming_url: _Optional[str] = ...) -> None: ...

class ListChannelUsersRequest(_message.Message):
    __slots__ = ("clan_id", "channel_id", "channel_type", "limit", "state", "cursor")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    channel_type: int
    limit: int
    state: int
    cursor: str
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., channel_type: _Optional[int] = ..., limit: _Optional[int] = ..., state: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class StreamingChannelUser(_message.Message):
    __slots__ = ("id", "user_id", "channel_id", "participant")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    id: int
    user_id: int
    channel_id: int
    participant: str
    def __init__(self, id: _Optional[int] = ..., user_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., participant: _Optional[str] = ...) -> None: ...

class StreamingChannelUserList(_message.Message):
    __slots__ = ("streaming_channel_users",)
    STREAMING_CHANNEL_USERS_FIELD_NUMBER: _ClassVar[int]
    streaming_channel_users: _containers.RepeatedCompositeFieldContainer[StreamingChannelUser]
    def __init__(self, streaming_channel_users: _Optional[_Iterable[_Union[StreamingChannelUser, _Mapping]]] = ...) -> None: ...

class ListClanDescRequest(_message.Message):
    __slots__ = ("limit", "state", "cursor")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    limit: int
    state: int
    cursor: str
    def __init__(self, limit: _Optional[int] = ..., state: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ClanDesc(_message.Message):
    __slots__ = ("creator_id", "clan_name", "logo", "banner", "clan_id", "status", "badge_count", "is_onboarding", "welcome_channel_id")
    CREATOR_ID_FIELD_NUMBER: _ClassVar[int]
    CLAN_NAME_FIELD_NUMBER: _ClassVar[int]
    LOGO_FIELD_NUMBER: _ClassVar[int]
    BANNER_FIELD_NUMBER: _ClassVar[int]
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BADGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    IS_ONBOARDING_FIELD_NUMBER: _ClassVar[int]
    WELCOME_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    creator_id: int
    clan_name: str
    logo: str
    banner: str
    clan_id: int
    status: int
    badge_count: int
    is_onboarding: bool
    welcome_channel_id: int
    def __init__(self, creator_id: _Optional[int] = ..., clan_name: _Optional[str] = ..., logo: _Optional[str] = ..., banner: _Optional[str] = ..., clan_id: _Optional[int] = ..., status: _Optional[int] = ..., badge_count: _Optional[int] = ..., is_onboarding: _Optional[bool] = ..., welcome_channel_id: _Optional[int] = ...) -> None: ...

class ClanDescList(_message.Message):
    __slots__ = ("clandesc",)
    CLANDESC_FIELD_NUMBER: _ClassVar[int]
    clandesc: _containers.RepeatedCompositeFieldContainer[ClanDesc]
    def __init__(self, clandesc: _Optional[_Iterable[_Union[ClanDesc, _Mapping]]] = ...) -> None: ...

class ListChannelDescsRequest(_message.Message):
    __slots__ = ("limit", "state", "cursor", "clan_id", "channel_type", "is_mobile", "page")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    IS_MOBILE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    limit: int
    state: int
    cursor: str
    clan_id: int
    channel_type: int
    is_mobile: bool
    page: int
    def __init__(self, limit: _Optional[int] = ..., state: _Optional[int] = ..., cursor: _Optional[str] = ..., clan_id: _Optional[int] = ..., channel_type: _Optional[int] = ..., is_mobile: _Optional[bool] = ..., page: _Optional[int] = ...) -> None: ...

class ChannelDescription(_message.Message):
    __slots__ = ("clan_id", "parent_id", "channel_id", "category_id", "category_name", "type", "creator_id", "channel_label", "channel_private", "clan_name", "app_id", "member_count")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATOR_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_LABEL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_PRIVATE_FIELD_NUMBER: _ClassVar[int]
    CLAN_NAME_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    parent_id: int
    channel_id: int
    category_id: int
    category_name: str
    type: int
    creator_id: int
    channel_label: str
    channel_private: int
    clan_name: str
    app_id: int
    member_count: int
    def __init__(self, clan_id: _Optional[int] = ..., parent_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., category_id: _Optional[int] = ..., category_name: _Optional[str] = ..., type: _Optional[int] = ..., creator_id: _Optional[int] = ..., channel_label: _Optional[str] = ..., channel_private: _Optional[int] = ..., clan_name: _Optional[str] = ..., app_id: _Optional[int] = ..., member_count: _Optional[int] = ...) -> None: ...

class ChannelDescList(_message.Message):
    __slots__ = ("channeldesc",)
    CHANNELDESC_FIELD_NUMBER: _ClassVar[int]
    channeldesc: _containers.RepeatedCompositeFieldContainer[ChannelDescription]
    def __init__(self, channeldesc: _Optional[_Iterable[_Union[ChannelDescription, _Mapping]]] = ...) -> None: ...

class ListChannelDetailRequest(_message.Message):
    __slots__ = ("channel_id",)
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    channel_id: int
    def __init__(self, channel_id: _Optional[int] = ...) -> None: ...

class ChannelMessage(_message.Message):
    __slots__ = ("clan_id", "channel_id", "message_id", "code", "sender_id", "username", "avatar", "content", "channel_label", "clan_logo", "category_name", "display_name", "clan_nick", "clan_avatar", "reactions", "mentions", "attachments", "references", "referenced_message", "create_time_seconds", "update_time_seconds", "mode", "hide_editted", "is_public", "topic_id")
    CLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_LABEL_FIELD_NUMBER: _ClassVar[int]
    CLAN_LOGO_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CLAN_NICK_FIELD_NUMBER: _ClassVar[int]
    CLAN_AVATAR_FIELD_NUMBER: _ClassVar[int]
    REACTIONS_FIELD_NUMBER: _ClassVar[int]
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    REFERENCED_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    HIDE_EDITTED_FIELD_NUMBER: _ClassVar[int]
    IS_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ID_FIELD_NUMBER: _ClassVar[int]
    clan_id: int
    channel_id: int
    message_id: int
    code: int
    sender_id: int
    username: str
    avatar: str
    content: str
    channel_label: str
    clan_logo: str
    category_name: str
    display_name: str
    clan_nick: str
    clan_avatar: str
    reactions: bytes
    mentions: bytes
    attachments: bytes
    references: bytes
    referenced_message: bytes
    create_time_seconds: int
    update_time_seconds: int
    mode: int
    hide_editted: bool
    is_public: bool
    topic_id: int
    def __init__(self, clan_id: _Optional[int] = ..., channel_id: _Optional[int] = ..., message_id: _Optional[int] = ..., code: _Optional[int] = ..., sender_id: _Optional[int] = ..., username: _Optional[str] = ..., avatar: _Optional[str] = ..., content: _Optional[str] = ..., channel_label: _Optional[str] = ..., clan_logo: _Optional[str] = ..., category_name: _Optional[str] = ..., display_name: _Optional[str] = ..., clan_nick: _Optional[str] = ..., clan_avatar: _Optional[str] = ..., reactions: _Optional[bytes] = ..., mentions: _Optional[bytes] = ..., attachments: _Optional[bytes] = ..., references: _Optional[bytes] = ..., referenced_message: _Optional[bytes] = ..., create_time_seconds: _Optional[int] = ..., update_time_seconds: _Optional[int] = ..., mode: _Optional[int] = ..., hide_editted: _Optional[bool] = ..., is_public: _Optional[bool] = ..., topic_id: _Optional[int] = ...) -> None: ...
