"""Learn: autoencoder and variational autoencoder latent spaces side by side."""

from __future__ import annotations

import streamlit as st

from dashboard import learn_charts, learn_services

st.title("Autoencoder vs variational autoencoder")
st.markdown(
    "**The result.** Kingma and Welling (2014) turned the autoencoder into a "
    "generative model. The encoder outputs a Gaussian distribution over codes instead "
    "of one code, and training maximises a lower bound on the data's likelihood: "
    "reconstruction quality minus the KL divergence between that Gaussian and a "
    "standard normal prior. The KL term packs the codes of all images into one smooth "
    "region around the origin, so that any point there decodes to something plausible. "
    "Weighting it by **beta** trades reconstruction for that smoothness. Both networks "
    "below are 784-256-2 with a sigmoid output, trained briefly on the 1,030 bundled "
    "digits (980 zeros, 50 others)."
)

beta = st.select_slider(
    "beta: weight of the KL term",
    options=learn_services.BETAS,
    value=1.0,
    key="learn_vae_beta",
    help="0 gives a noisy autoencoder; 1 is the plain variational bound; large values "
    "pull every code onto the prior until the decoder ignores them.",
)
ae_codes = learn_services.latent_codes("ae")
vae_codes = learn_services.latent_codes("vae", beta)
ae_summary = learn_services.latent_summary("ae")
vae_summary = learn_services.latent_summary("vae", beta)

a, b, c = st.columns(3)
a.metric(
    "AE reconstruction error",
    f"{ae_summary['mean_error']:.2f}",
    help="Mean over images of the summed squared pixel error.",
)
b.metric(
    "VAE reconstruction error",
    f"{vae_summary['mean_error']:.2f}",
    delta=f"{vae_summary['mean_error'] - ae_summary['mean_error']:+.2f} vs AE",
    delta_color="inverse",
)
c.metric(
    "VAE KL divergence (nats)",
    f"{vae_summary['kl']:.2f}",
    help="How far the encoder's distributions sit from the standard normal prior, "
    "averaged over images. Near 0, the codes carry no information.",
)

st.markdown("Pick a point in the VAE's latent plane to see the digit it decodes to.")
left, right = st.columns(2)
z1 = left.slider("z1", -3.0, 3.0, 0.0, 0.1, key="learn_vae_z1")
z2 = right.slider("z2", -3.0, 3.0, 0.0, 0.1, key="learn_vae_z2")

left, right = st.columns(2)
with left:
    st.altair_chart(
        learn_charts.latent_scatter(ae_codes, "Autoencoder: 2-D codes"), width="stretch"
    )
with right:
    st.altair_chart(
        learn_charts.latent_scatter(
            vae_codes, f"VAE (beta = {beta:g}): posterior means", marker=(z1, z2)
        ),
        width="stretch",
    )

left, middle, right = st.columns([1, 2, 2])
with left:
    st.image(
        learn_services.vae_decode(beta, z1, z2),
        width=140,
        clamp=True,
        caption=f"Decoded at ({z1:.1f}, {z2:.1f})",
    )
with middle:
    st.image(
        learn_services.vae_grid(beta),
        width="stretch",
        clamp=True,
        caption="Decoded digits on a grid over [-2.5, 2.5] in both directions "
        "(top row: largest z2).",
    )
with right:
    st.markdown(
        "**The reparameterisation trick.** Sampling a code from the encoder's Gaussian "
        "would block the gradient, so the VAE draws noise from a fixed standard normal "
        "and computes the code as mean plus standard deviation times that noise. The "
        "randomness then sits outside the network, and backpropagation reaches the "
        "mean and the variance as if they fed an ordinary layer."
    )
    st.markdown(
        "**What to look for.** The autoencoder's codes may sit anywhere and leave gaps "
        "that decode to nonsense. As beta grows, the VAE's codes crowd into the unit "
        "disc and the grid changes smoothly from one style of zero to the next, while "
        "the reconstruction error rises. At large beta the KL term wins, every code "
        "collapses onto the prior and each image decodes to the same average digit."
    )

st.page_link(
    "views/data.py", label="Load your own data, then run the VAE on it", icon="📄"
)
st.page_link(
    "views/compare.py",
    label="Compare the VAE with the Autoencoder and the rest",
    icon="📊",
)
