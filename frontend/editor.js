// The structured editor's body: TOAST UI Editor with its Chinese interface texts.
import Editor from "@toast-ui/editor";
import "@toast-ui/editor/dist/i18n/zh-cn";
import "@toast-ui/editor/dist/i18n/zh-tw";

window.toastui = { Editor };
