"""Actions for the participant's own data: see it, delete it, withdraw consent."""
from __future__ import annotations

import re
from typing import Optional, Text

from rasa_sdk import Action
from rasa_sdk.events import FollowupAction, SlotSet

from actions.common import (delete_question, end_form_events, is_short_reply, services,
                            sounds_like_leaving, stray_payload)
from actions.questions import only_guessed, save_more, withdraw
from actions.themes import theme_words_first
from actions.welcome import ask_again, not_started, welcome_first


ROLE_RESPONSES = {"self": "utter_my_data_role_self", "on_behalf": "utter_my_data_role_on_behalf",
                  "support_worker": "utter_my_data_role_support_worker"}
# When the kept answers were given in more than one role: how many in each.
ROLE_COUNT_RESPONSES = {"self": "utter_my_data_answers_self",
                        "on_behalf": "utter_my_data_answers_on_behalf",
                        "support_worker": "utter_my_data_answers_support_worker"}


def utter_roles(dispatcher, participant: dict) -> None:
    """Say the role of the kept answers: one line, or how many answers in each role."""
    used = [(entry["role"], entry["answers"]) for entry in participant["roles_used"]
            if entry["role"] in ROLE_COUNT_RESPONSES]
    if len(used) > 1:
        for role, count in used:
            dispatcher.utter_message(response=ROLE_COUNT_RESPONSES[role], count=str(count))
        return
    role = ROLE_RESPONSES.get(used[0][0] if used else participant["role"])
    if role:
        dispatcher.utter_message(response=role)


class ActionMyData(Action):
    """Say in plain words what is stored, and give the full record as a JSON file."""

    def name(self) -> Text:
        return "action_my_data"

    @theme_words_first
    async def run(self, dispatcher, tracker, domain):
        other = only_guessed(dispatcher, tracker, {"my_data"})  # "what about my day centre"
        if other is not None:
            return other
        record = services().data_rights.record(tracker.sender_id)
        if record is None:
            dispatcher.utter_message(response="utter_my_data_none")
            if not_started(tracker):  # as the first message (or read so by NLU): the welcome
                return await welcome_first(dispatcher, tracker, domain)
            return []
        if record["answers"]:
            dispatcher.utter_message(response="utter_my_data_answers",
                                     count=str(len(record["answers"])))
        else:
            dispatcher.utter_message(response="utter_my_data_no_answers")
        utter_roles(dispatcher, record["participant"])
        kept = len(record["kept_for_safety_lead"])
        if kept:  # messages that were not answers, kept because they may tell of harm
            dispatcher.utter_message(response="utter_my_data_for_lead_one" if kept == 1
                                     else "utter_my_data_for_lead", count=str(kept))
        if record["contact"]:
            dispatcher.utter_message(response="utter_my_data_contact")
        dispatcher.utter_message(response="utter_my_data_file",
                                 json_message={"document": {"filename": "my-data.json",
                                                            "data": record}})
        return []


_KEEP = re.compile(r"\b(?:no|nope|not|don'?t|do not|never|keep|cancel|stop)\b", re.I)
_DELETE = re.compile(r"\b(?:yes|yeah|yep|delete|deleted|erase|remove|get rid)\b", re.I)


def delete_reply(tracker) -> Optional[Text]:
    """What words typed at "Do you want us to delete your answers?" mean, whatever NLU read:
    the action that answers them ("Yes, delete them": delete; "No, keep them", "don't delete":
    keep), or None at any other step or for other words."""
    if tracker.get_slot("stage") != "confirm_delete":
        return None
    text = ((tracker.latest_message or {}).get("text") or "").replace("\u2019", "'")
    if text.strip().startswith("/"):
        return None
    if _KEEP.search(text):
        return "action_cancel_delete"
    return "action_delete_my_data" if _DELETE.search(text) else None


class ActionAskDelete(Action):
    """Ask the participant to confirm that their answers should be deleted."""

    def name(self) -> Text:
        return "action_ask_delete"

    @theme_words_first
    async def run(self, dispatcher, tracker, domain):
        answered = delete_reply(tracker)  # "Yes, delete them" typed, read as asking to delete
        if answered is not None:
            return [FollowupAction(answered)]
        dispatcher.utter_message(response=delete_question(tracker))
        if tracker.get_slot("stage") == "confirm_delete":  # asked again: keep where they were
            return end_form_events(tracker)
        return end_form_events(tracker) + [
            SlotSet("stage_before_delete", tracker.get_slot("stage")),
            SlotSet("stage", "confirm_delete")]


class ActionDeleteMyData(Action):
    """Erase the participant's data and this conversation; flagged answers wait for the lead."""

    def name(self) -> Text:
        return "action_delete_my_data"

    async def run(self, dispatcher, tracker, domain):
        # Read before the erasure takes it: a transport that reads messages aloud (Telegram)
        # cannot look the choice up afterwards, and the goodbye must still be heard.
        sound = services().conversation.sound_preference(tracker.sender_id)  # None: never chosen
        erasure = services().data_rights.erase(tracker.sender_id)
        erased = {"erased": True, "sound": sound}
        # The chat itself is erased even when answers are held for the lead: a transport that
        # shows the chat so far (the web chat) clears it on this sign, Rasa's `custom`.
        if erasure.answers_held:
            # One story: what is held waits for a person to look at it, and the rest is deleted.
            if erasure.answers_held == 1:
                dispatcher.utter_message(response="utter_deletion_held")
            else:
                dispatcher.utter_message(response="utter_deletion_held_many",
                                         count=str(erasure.answers_held))
            dispatcher.utter_message(response="utter_deleted_others" if erasure.answers_deleted
                                     else "utter_deleted_chat", json_message=erased)
        else:  # nothing was kept but the chat: it is the chat that went
            dispatcher.utter_message(response="utter_deleted" if erasure.answers_deleted
                                     else "utter_deleted_chat", json_message=erased)
        return [SlotSet("stage", "deleted")]


class ActionCancelDelete(Action):
    """Keep everything and go back to where the participant was."""

    def name(self) -> Text:
        return "action_cancel_delete"

    async def run(self, dispatcher, tracker, domain):
        answers_kept = delete_question(tracker) == "utter_ask_delete"
        dispatcher.utter_message(response="utter_delete_cancelled" if answers_kept
                                 else "utter_delete_cancelled_chat")
        stage = tracker.get_slot("stage_before_delete") or "done"
        if stage == "question":  # the same question again (or "What else?"), with its buttons
            return [SlotSet("stage", stage), FollowupAction("answer_form")]
        # Whatever the chat waited for (the theme check, "add more" ...) is asked again, and the
        # turn ends here: the "delete?" question is closed, so a later "Yes" answers that.
        return [SlotSet("stage", stage), *ask_again(dispatcher, tracker, stage),
                FollowupAction("action_listen")]


class ActionWithdraw(Action):
    """Record that the participant no longer consents; their answers stay unless deleted."""

    def name(self) -> Text:
        return "action_withdraw"

    @theme_words_first
    async def run(self, dispatcher, tracker, domain):
        if stray_payload(tracker):  # "/nonsense" typed, guessed by NLU as leaving
            return [FollowupAction("action_kind_fallback")]
        if not is_short_reply(tracker, {"withdraw_consent"}):
            # NLU only guessed ("Can I just answer anyway?" read as leaving): ask first.
            # Leaving's own words, said less surely ("I don't want to do this any more"), are
            # asked about wherever they come; other words at a question are an answer.
            if not sounds_like_leaving(tracker):
                if tracker.active_loop_name == "answer_form":
                    return []  # the form keeps and screens the words
                if tracker.get_slot("stage") == "add_more":
                    # After "Do you want to add anything else?", typed words are more answer.
                    return save_more(dispatcher, tracker) + [FollowupAction("action_listen")]
            dispatcher.utter_message(response="utter_check_withdraw")
            return [FollowupAction("action_listen")]
        return withdraw(dispatcher, tracker)
