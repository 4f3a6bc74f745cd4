"""Telegram update handlers: each turns one kind of update into a message for the relay."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging

from telegram import Update
from telegram.ext import (Application, ApplicationHandlerStop, CallbackQueryHandler,
                          CommandHandler, ContextTypes, MessageHandler, TypeHandler, filters)

from bot.telegram.relay import Incoming
from bot.telegram.render import PAYLOAD_KEY_PREFIX
from bot.telegram.words import CANNOT_LISTEN, CANNOT_OPEN, COMMANDS, ONLY_IN_PRIVATE, ONLY_THE_WORDS

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE

PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS
NEW = filters.UpdateType.MESSAGE
HEARD = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE
# Sent instead when a long button's payload was forgotten: the last question comes again.
REPEAT_PAYLOAD = COMMANDS["repeat"][0]
# A changed message's new words go to the assistant as /edited{"edited_words": "..."}.
EDITED_PAYLOAD = "/edited"


def add_handlers(application: Application) -> None:
    """Register every handler, with duplicate updates stopped before any of them."""
    application.add_handler(TypeHandler(Update, drop_duplicate), group=-1)
    application.add_handler(CommandHandler(list(COMMANDS), on_command, filters=PRIVATE & NEW))
    application.add_handler(MessageHandler(PRIVATE & NEW & filters.TEXT, on_text))
    application.add_handler(MessageHandler(PRIVATE & NEW & HEARD, on_voice))
    application.add_handler(MessageHandler(
        PRIVATE & NEW & ~filters.StatusUpdate.ALL, on_something_else))
    application.add_handler(MessageHandler(
        PRIVATE & filters.UpdateType.EDITED_MESSAGE & (filters.TEXT | filters.CAPTION), on_edited))
    # In a group nothing is read or stored: a command there, or the bot being added, is told
    # once that the chat works in private only. Other group messages are left alone.
    application.add_handler(MessageHandler(GROUPS & NEW & filters.COMMAND, on_group))
    application.add_handler(MessageHandler(GROUPS & filters.StatusUpdate.NEW_CHAT_MEMBERS, on_added_to_group))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)


def incoming(update: Update, context: Context, text: str = "", fixed_reply=None) -> Incoming:
    """The update as a message for the relay, with a pseudonymous sender and a stable id."""
    user, chat = update.effective_user, update.effective_chat
    pseudonyms = context.bot_data["pseudonymizer"]
    if update.callback_query is not None:
        message_id = f"tg-cb-{update.callback_query.id}"
    else:  # chat and message ids are personal-ish: keep only a keyed hash of them
        message_id = "tg-" + pseudonyms.pseudonym(
            f"{chat.id}:{update.effective_message.message_id}", channel="telegram-message")[:24]
    return Incoming(chat_id=chat.id, message_id=message_id, text=text, fixed_reply=fixed_reply,
                    sender=pseudonyms.pseudonym(str(user.id), channel="telegram"),
                    language=user.language_code)


async def drop_duplicate(update: Update, context: Context) -> None:
    """Stop an update Telegram delivered before, so nothing is stored or said twice."""
    if not await context.bot_data["seen"].new_update(update.update_id):
        log.info("Ignored update %s: it was delivered before", update.update_id)
        raise ApplicationHandlerStop
    if update.effective_user is None or update.effective_chat is None:
        raise ApplicationHandlerStop  # channel posts and the like: nobody to answer


async def on_command(update: Update, context: Context) -> None:
    """Send a menu command, such as /help, to the assistant as its intent."""
    command = update.effective_message.text.split()[0][1:].split("@")[0].lower()
    payload = COMMANDS[command][0]
    context.bot_data["relay"].submit(incoming(update, context, text=payload))


async def on_text(update: Update, context: Context) -> None:
    """Send typed words to the assistant."""
    text = update.effective_message.text
    if text.startswith("/"):  # an unknown command: send its words, not a made-up intent
        text = text.lstrip("/").replace("_", " ").strip() or COMMANDS["help"][0]
    context.bot_data["relay"].submit(incoming(update, context, text=text))


async def on_button(update: Update, context: Context) -> None:
    """Take a button press once: stop the spinner, take the buttons away, send the payload."""
    query, outbox = update.callback_query, context.bot_data["outbox"]
    outbox.answer_button(query.id)
    if query.message is None or not query.data:
        return
    if not await first_press(update, context):
        # A double tap, a second choice on a question that takes one, or an old keyboard from
        # before a restart: the buttons of the last go now.
        outbox.keyboards.take_away_stale(query.message.chat.id, query.message.message_id)
        return
    outbox.keyboards.take_away(query.message.chat.id, query.message.message_id, query.data,
                               query.message.reply_markup)
    payload = await resolve_payload(context.bot_data["state"], query.data)
    context.bot_data["relay"].submit(incoming(update, context, text=payload))


async def on_voice(update: Update, context: Context) -> None:
    """Say kindly that voice messages cannot be heard yet."""
    await say_and_start(update, context, CANNOT_LISTEN)


async def on_something_else(update: Update, context: Context) -> None:
    """Say kindly that photos, stickers, files and places cannot be read; the words of a
    photo's or file's caption ("This is my day centre, I love it") go to the assistant."""
    caption = (update.effective_message.caption or "").strip()
    if caption:  # said first: the picture itself was not seen, only its words
        context.bot_data["relay"].submit(incoming(update, context, fixed_reply=ONLY_THE_WORDS))
        context.bot_data["relay"].submit(incoming(update, context, text=caption))
        return
    await say_and_start(update, context, CANNOT_OPEN)


async def say_and_start(update: Update, context: Context, fixed_reply: str) -> None:
    """Send a kind fixed reply; when it is the chat's very first message, start the chat after
    it, so "press a button" has buttons to press (as /start gives them)."""
    item, relay = incoming(update, context, fixed_reply=fixed_reply), context.bot_data["relay"]
    new_chat = not relay.is_busy(item.chat_id) and await asyncio.to_thread(
        context.bot_data["tracker"].has_talked, item.sender) is False
    relay.submit(item)
    if new_chat:
        relay.submit(dataclasses.replace(item, text=COMMANDS["start"][0], fixed_reply=None,
                                         message_id=item.message_id + "-start"))


async def on_edited(update: Update, context: Context) -> None:
    """Pass a changed message's new words to the assistant as an edit: they are not an answer
    (it says kindly that changes are not read), but they are checked for a disclosure of harm."""
    message = update.effective_message
    words = (message.text or message.caption or "").strip()
    edit = incoming(update, context, text=EDITED_PAYLOAD + json.dumps({"edited_words": words}))
    # Its own id: the first version of the message went to the assistant under the message's id.
    edited_at = int(message.edit_date.timestamp()) if message.edit_date else 0
    context.bot_data["relay"].submit(dataclasses.replace(
        edit, message_id=f"{edit.message_id}-e{edited_at}"))


async def on_group(update: Update, context: Context) -> None:
    """Say, in the group, that the chat works only in a private chat; nothing is sent to the assistant."""
    context.bot_data["relay"].submit(incoming(update, context, fixed_reply=ONLY_IN_PRIVATE))


async def on_added_to_group(update: Update, context: Context) -> None:
    """When this bot is added to a group, say there that it works only in a private chat."""
    bot_id = int(context.bot.token.split(":", 1)[0])  # a bot's id starts its token
    if any(member.id == bot_id for member in update.effective_message.new_chat_members):
        await on_group(update, context)


async def on_error(update: object, context: Context) -> None:
    """Log an error with its trace but without the update, which holds personal data."""
    log.error("Error while handling an update: %s", context.error, exc_info=context.error)


async def first_press(update: Update, context: Context) -> bool:
    """True the first time this button, or any button of a one-choice keyboard, is pressed."""
    query, keyboards = update.callback_query, context.bot_data["outbox"].keyboards
    chat_id, message_id = query.message.chat.id, query.message.message_id
    if not keyboards.still_shows(chat_id, message_id, query.data):
        return False
    return await context.bot_data["seen"].fresh_keyboard(
        pressed_key(update, context), sent_here=keyboards.is_live(chat_id, message_id))


def pressed_key(update: Update, context: Context) -> str:
    """A keyed hash naming what was pressed: the keyboard, or the button in a multiple choice."""
    query = update.callback_query
    chat_id, message_id = query.message.chat.id, query.message.message_id
    name = f"{chat_id}:{message_id}"
    keyboards = context.bot_data["outbox"].keyboards
    if keyboards.is_multiple_choice(chat_id, message_id, query.message.reply_markup):
        name += f":{query.data}"
    return context.bot_data["pseudonymizer"].pseudonym(name, channel="telegram-keyboard")[:32]


async def resolve_payload(state, data: str) -> str:
    """The Rasa payload behind a button's callback data."""
    if not data.startswith(PAYLOAD_KEY_PREFIX):
        return data
    payload = await asyncio.to_thread(state.payload, data)
    if payload is None:
        log.warning("A button's payload was forgotten; showing the last message again")
    return payload or REPEAT_PAYLOAD
