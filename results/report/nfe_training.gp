set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'nfe_training.svg.tmp'
set title "NFE per training iteration" noenhanced
set xlabel 'training iteration (main phase)'
set ylabel 'evaluations of f per iteration, forward (batched over all pairs)'
set logscale y
set yrange [6.25:230.4]
set grid lc rgb '#dddddd'
set key below noenhanced
plot 'nfe_training.dat' index 0 with lines lw 2 title 'dopri8 h=0.2 (bilinear)', \
     'nfe_training.dat' index 1 with lines lw 2 title 'trk10 h=0.2 (bilinear)', \
     'nfe_training.dat' index 2 with lines lw 2 title 'dopri8 h=0.3 (bilinear)', \
     'nfe_training.dat' index 3 with lines lw 2 title 'trk10 h=0.3 (bilinear)', \
     'nfe_training.dat' index 4 with lines lw 2 title 'dopri8 h=0.4 (bilinear)', \
     'nfe_training.dat' index 5 with lines lw 2 title 'trk10 h=0.4 (bilinear)'
