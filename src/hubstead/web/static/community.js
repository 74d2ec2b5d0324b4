// The new-discussion page: the heading and the submit button follow the kind chosen (without
// JavaScript they say the kind the page was opened for; the radio buttons decide either way).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.community-form[data-kind-labels]");
  if (!form) return;
  const heading = document.getElementById("new-heading");
  const submit = form.querySelector('button[value="create"]');
  for (const radio of form.querySelectorAll('input[name="kind"]')) {
    radio.addEventListener("change", () => {
      const noun = radio.value === "pull_request" ? "pull request" : "discussion";
      heading.textContent = `New ${noun}`;
      submit.textContent = `Open ${noun}`;
    });
  }
});
